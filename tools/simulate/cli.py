"""The simulator's command line, shared by `python -m tools.simulate` and `manage.py simulate`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from tools.simulate.cast import cast_load
from tools.simulate.client import DEFAULT_URL, SimulationTotals, Write, run_simulation
from tools.simulate.errors import SimulationError

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
    parser.add_argument("--token", required=True, help="integration token")
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


def run_from_options(options: dict[str, Any], *, write: Write = print) -> SimulationTotals:
    return run_simulation(
        url=options["url"],
        token=options["token"],
        rate=options["rate"],
        conversations=None if options["forever"] else options["conversations"],
        concurrency=options["concurrency"],
        seed=options["seed"],
        run_id=options["run_id"],
        drain_timeout=options["drain_timeout"],
        write=write,
        cast=cast_load(options["cast"]) if options.get("cast") else (),
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
