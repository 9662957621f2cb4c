"""The simulator's command line, shared by `python -m tools.simulate` and `manage.py simulate`."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.simulate.cast import cast_load
from tools.simulate.client import DEFAULT_URL, SimulationTotals, Write, run_simulation
from tools.simulate.errors import SimulationError

# Where the token may come from besides --token, which every `ps` on the machine shows.
TOKEN_ENV = "BATON_SIMULATE_TOKEN"

DESCRIPTION = (
    "Act as an AI platform: stream scripted outdoor-shop conversations to Baton's ingest socket "
    "(protocol v1), resending unacked events after reconnects."
)


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=DEFAULT_URL, help=f"ingest socket (default {DEFAULT_URL})")
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--token-file",
        metavar="FILE",
        help="file holding the integration token, readable by its owner only (chmod 600)",
    )
    token.add_argument(
        "--token",
        help=f"integration token; visible to `ps`, so prefer --token-file or ${TOKEN_ENV}",
    )
    parser.add_argument(
        "--rate", type=_positive_float, default=5.0, help="events per second overall (default 5)"
    )
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument(
        "--conversations",
        type=_positive_int,
        default=10,
        help="how many conversations to run (default 10)",
    )
    amount.add_argument(
        "--forever", action="store_true", help="keep starting conversations until Ctrl-C"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for repeatable scripts")
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=4,
        help="conversations interleaved at once (default 4)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=_positive_float,
        default=30.0,
        help="seconds to wait for outstanding acks at the end (default 30)",
    )
    parser.add_argument(
        "--run-id",
        default=None,
        help="prefix for conversation and event ids (default: random); reuse one to test resends",
    )
    parser.add_argument(
        "--cast",
        default=None,
        metavar="FILE",
        help="JSON array of customers with their orders to hold the conversations about "
        "(default: made-up customers); `manage.py demo_cast` writes one from the store",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="write only connection trouble, errors and the totals, not every conversation",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        metavar="N",
        help="send at up to one event a second until N conversations went to a person, "
        "then at --rate (default 0)",
    )


def token_resolve(options: dict[str, Any]) -> str:
    """The token from --token, --token-file or the environment, in that order."""
    if options.get("token"):
        return str(options["token"])
    if options.get("token_file"):
        path = Path(options["token_file"])
        try:
            mode = path.stat().st_mode
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SimulationError(f"cannot read the token file {path}: {exc.strerror}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SimulationError(
                f"the token file {path} can be read by others: run chmod 600 {path}"
            )
        if not token:
            raise SimulationError(f"the token file {path} is empty")
        return token
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    raise SimulationError(f"no token: give --token-file FILE, or set {TOKEN_ENV}")


def run_from_options(options: dict[str, Any], *, write: Write = print) -> SimulationTotals:
    return run_simulation(
        url=options["url"],
        token=token_resolve(options),
        rate=options["rate"],
        conversations=None if options["forever"] else options["conversations"],
        concurrency=options["concurrency"],
        seed=options["seed"],
        run_id=options["run_id"],
        drain_timeout=options["drain_timeout"],
        write=write,
        cast=cast_load(options["cast"]) if options.get("cast") else (),
        verbose=not options.get("quiet"),
        warmup=options.get("warmup") or 0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.simulate", description=DESCRIPTION)
    add_simulate_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        totals = run_from_options(options)
    except SimulationError as exc:
        print(f"error: {exc}")
        return 2
    return 1 if totals.unacked else 0
