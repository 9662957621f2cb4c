"""Ingest benchmark: throughput and ack latency of /ws/ingest/v1/ against a raw echo baseline.

    python -m bench.ingest --url ws://127.0.0.1:8000 --token TOKEN --events 10000 --sockets 8

Streams N `message` events over K sockets (each socket its own conversations), pipelined with a
bounded window of unacked events per socket, and times send -> ack per event. It then sends the
same frames to /ws/bench/echo/ on the same server, where the echoed frame is the "ack", so the
ratio shows what ingest costs over the bare socket stack. Only daphne serving
bench.echo_asgi:application has that socket (bench.run starts one); config.asgi does not.

Only stdlib and websockets, so it runs from any checkout without Django.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

INGEST_PATH = "/ws/ingest/v1/"
ECHO_PATH = "/ws/bench/echo/"
EVENTS_PER_CONVERSATION = 20
EXIT_FAILED = 1
EXIT_REFUSED = 2

# Roughly 100 characters each, the size of a typical chat turn.
TEXTS = (
    "Hi, I ordered the Ridgeline 2P tent last week and tracking hasn't moved since Tuesday. Help?",
    "Thanks for waiting. Your order shipped with UPS yesterday and should arrive by Friday.",
    "The zipper on my Stormshell jacket broke after two hikes. Can I get it repaired or replaced?",
    "I can help with that. Could you share the order number? It starts with #W and has 7 digits.",
    "Do the Talus Mid boots run true to size? I'm usually a 10.5 but my last pair felt tight.",
    "Your return label is in your inbox. The refund reaches your card 3-5 days after it's scanned.",
    "Will the Pinnacle stove work with the isobutane canisters I already have from another brand?",
    "I was charged twice for order #W4821937 and I'd like the duplicate charge refunded, please.",
)


@dataclass
class Frame:
    ids: list[str]
    text: str
    event_texts: list[str]


@dataclass
class PhaseResult:
    name: str
    url: str
    events: int
    frames: int
    acked: int = 0
    stored: int = 0
    duplicate: int = 0
    failed: int = 0
    rate_limited: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failure: str | None = None
    refused: bool = False

    @property
    def missing(self) -> int:
        return self.events - self.acked - self.failed

    @property
    def events_per_second(self) -> float:
        return self.acked / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def frames_per_second(self) -> float:
        if not self.events or self.elapsed <= 0:
            return 0.0
        return self.frames * (self.acked / self.events) / self.elapsed

    def percentile_ms(self, percent: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(percent / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    def as_dict(self) -> dict[str, Any]:
        mean = sum(self.latencies) / len(self.latencies) * 1000 if self.latencies else None
        return {
            "url": self.url,
            "events": self.events,
            "frames": self.frames,
            "acked": self.acked,
            "stored": self.stored,
            "duplicate": self.duplicate,
            "failed": self.failed,
            "missing": self.missing,
            "rate_limited": self.rate_limited,
            "errors": dict(self.errors),
            "elapsed_s": round(self.elapsed, 4),
            "events_per_s": round(self.events_per_second, 1),
            "frames_per_s": round(self.frames_per_second, 1),
            "latency_ms": {
                "p50": _round(self.percentile_ms(50)),
                "p90": _round(self.percentile_ms(90)),
                "p99": _round(self.percentile_ms(99)),
                "mean": _round(mean),
                "max": _round(max(self.latencies) * 1000 if self.latencies else None),
            },
            "failure": self.failure,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class _SocketClosedEarly(Exception):
    pass


@dataclass
class _Clock:
    first_send: float = math.inf
    last_ack: float = 0.0


# --- building the load ------------------------------------------------------------------------


def build_frames(*, run_id: str, socket_index: int, count: int, batch: int) -> list[Frame]:
    at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    events: list[tuple[str, str]] = []
    for n in range(count):
        event_id = f"bench-{run_id}-{socket_index}-{n}"
        event = {
            "type": "message",
            "id": event_id,
            "conversation": f"bench-{run_id}-{socket_index}-c{n // EVENTS_PER_CONVERSATION}",
            "seq": n % EVENTS_PER_CONVERSATION + 1,
            "at": at,
            # Customers only: the desk's escalation engine may hand a conversation to a human
            # mid-run, and then refuses the AI's messages (not_owner), which is not what this
            # benchmark measures.
            "role": "customer",
            "text": TEXTS[(n + socket_index) % len(TEXTS)],
        }
        events.append((event_id, json.dumps(event)))
    frames = []
    for start in range(0, count, batch):
        chunk = events[start : start + batch]
        texts = [text for _, text in chunk]
        body = texts[0] if batch == 1 else "[" + ",".join(texts) + "]"
        frames.append(Frame(ids=[event_id for event_id, _ in chunk], text=body, event_texts=texts))
    return frames


def split_evenly(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def endpoint(base: str, path: str) -> str:
    parts = urlsplit(base)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"--url must be ws:// or wss://, not {base!r}")
    prefix = parts.path.rstrip("/")
    for known in (INGEST_PATH, ECHO_PATH):
        if prefix.endswith(known.rstrip("/")):
            prefix = prefix[: -len(known.rstrip("/"))]
    return urlunsplit((parts.scheme, parts.netloc, prefix + path, "", ""))


# --- one socket -------------------------------------------------------------------------------


class _SocketRun:
    """Drives one socket: a windowed sender and a reader matching replies to send times."""

    def __init__(
        self,
        *,
        ws: ClientConnection,
        frames: list[Frame],
        window: int,
        echo: bool,
        result: PhaseResult,
        clock: _Clock,
        start: asyncio.Event,
    ) -> None:
        self.ws = ws
        self.frames = frames
        self.window = window
        self.echo = echo
        self.result = result
        self.clock = clock
        self.start = start
        self.remaining = sum(len(frame.ids) for frame in frames)
        self.event_texts = {
            event_id: text
            for frame in frames
            for event_id, text in zip(frame.ids, frame.event_texts, strict=True)
        }
        self.sent_at: dict[str, float] = {}
        self.retries: Counter[str] = Counter()
        self.in_flight = 0
        self.room = asyncio.Event()
        self.background: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        if not self.remaining:
            return
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._send_all())
                group.create_task(self._read_replies())
        finally:
            for task in self.background:
                task.cancel()

    async def _send_all(self) -> None:
        await self.start.wait()
        for frame in self.frames:
            size = len(frame.ids)
            while self.in_flight and self.in_flight + size > self.window:
                self.room.clear()
                await self.room.wait()
            self.in_flight += size
            now = time.perf_counter()
            self.clock.first_send = min(self.clock.first_send, now)
            for event_id in frame.ids:
                self.sent_at[event_id] = now
            await self.ws.send(frame.text)

    async def _read_replies(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            decoded = json.loads(raw)
            for reply in decoded if isinstance(decoded, list) else [decoded]:
                if self.echo:
                    self._resolve(reply.get("id"), now)
                else:
                    self._handle_ingest_reply(reply, now)
            if not self.remaining:
                return
        raise _SocketClosedEarly(
            f"{self.result.name} socket closed by the server (code {self.ws.close_code}) "
            f"with {self.remaining} replies outstanding"
        )

    def _handle_ingest_reply(self, reply: dict[str, Any], now: float) -> None:
        kind = reply.get("type")
        if kind == "ack":
            if self._resolve(reply.get("id"), now):
                if reply.get("status") == "duplicate":
                    self.result.duplicate += 1
                else:
                    self.result.stored += 1
        elif kind == "error":
            event_id = reply.get("id")
            if reply.get("code") == "rate_limited" and event_id in self.sent_at:
                self.result.rate_limited += 1
                self._resend_later(event_id)
                return
            self.result.errors[str(reply.get("code"))] += 1
            if event_id in self.sent_at:
                del self.sent_at[event_id]
                self.result.failed += 1
                self._release()

    def _resolve(self, event_id: Any, now: float) -> bool:
        sent = self.sent_at.pop(event_id, None)
        if sent is None:
            return False
        self.result.latencies.append(now - sent)
        self.result.acked += 1
        self.clock.last_ack = max(self.clock.last_ack, now)
        self._release()
        return True

    def _release(self) -> None:
        self.in_flight -= 1
        self.remaining -= 1
        self.room.set()

    def _resend_later(self, event_id: str) -> None:
        self.retries[event_id] += 1
        delay = min(5.0, 0.1 * 2 ** self.retries[event_id])

        async def resend() -> None:
            await asyncio.sleep(delay)
            await self.ws.send(self.event_texts[event_id])

        task = asyncio.create_task(resend())
        self.background.add(task)
        task.add_done_callback(self.background.discard)


# --- one phase --------------------------------------------------------------------------------


async def run_phase(
    *,
    name: str,
    url: str,
    token: str | None,
    frames_per_socket: list[list[Frame]],
    window: int,
    time_limit: float,
) -> PhaseResult:
    events = sum(len(frame.ids) for frames in frames_per_socket for frame in frames)
    frame_count = sum(len(frames) for frames in frames_per_socket)
    result = PhaseResult(name=name, url=url, events=events, frames=frame_count)
    sockets: list[ClientConnection] = []
    clock = _Clock()
    try:
        async with asyncio.timeout(time_limit):
            for _ in frames_per_socket:
                ws, refusal = await _open(name=name, url=url, token=token, time_limit=time_limit)
                if ws is None:
                    result.refused = True
                    result.failure = refusal
                    return result
                sockets.append(ws)
            start = asyncio.Event()
            runs = [
                _SocketRun(
                    ws=ws,
                    frames=frames,
                    window=window,
                    echo=name == "echo",
                    result=result,
                    clock=clock,
                    start=start,
                )
                for ws, frames in zip(sockets, frames_per_socket, strict=True)
            ]
            result.failure = await _drive(runs, start)
    except TimeoutError:
        result.failure = (
            f"{name}: timed out after {time_limit:g}s with {result.missing} replies missing"
        )
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    if clock.last_ack:
        result.elapsed = clock.last_ack - clock.first_send
    if result.failure is None and result.missing:
        result.failure = f"{name}: {result.missing} replies never arrived"
    return result


async def _drive(runs: list[_SocketRun], start: asyncio.Event) -> str | None:
    name = runs[0].result.name
    failures: list[str] = []
    try:
        async with asyncio.TaskGroup() as group:
            for run in runs:
                group.create_task(run.run())
            start.set()
    except* _SocketClosedEarly as closed:
        failures.append(str(closed.exceptions[0]))
    except* ConnectionClosed as lost:
        first = lost.exceptions[0]
        code = first.rcvd.code if isinstance(first, ConnectionClosed) and first.rcvd else None
        failures.append(
            f"{name}: connection lost (code {code}) with {runs[0].result.missing} replies missing"
        )
    except* Exception as broken:
        failures.append(f"{name}: unexpected reply or failure: {broken.exceptions[0]!r}")
    return failures[0] if failures else None


async def _open(
    *, name: str, url: str, token: str | None, time_limit: float
) -> tuple[ClientConnection | None, str]:
    """Opens one socket, or explains why the server would not have it."""
    try:
        ws = await connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"} if token else None,
            proxy=None,
            compression=None,
            # A loaded server may answer pings late; --timeout bounds the run instead.
            ping_interval=None,
            open_timeout=min(10.0, time_limit),
        )
    except InvalidStatus as exc:
        return None, _refusal(name=name, url=url, why=f"HTTP {exc.response.status_code}")
    except OSError as exc:
        return None, f"cannot connect to {url}: {exc}"
    except (InvalidHandshake, ConnectionClosed, TimeoutError) as exc:
        return None, _refusal(name=name, url=url, why=str(exc) or type(exc).__name__)
    return ws, ""


def _refusal(*, name: str, url: str, why: str) -> str:
    if name == "echo":
        # An unrouted path fails the handshake in whatever way the ASGI server chooses.
        return (
            f"the server refused the echo socket {url} ({why}): serve "
            "bench.echo_asgi:application rather than config.asgi, or pass --no-echo"
        )
    return f"the server refused {url} ({why}): check --token"


# --- reporting --------------------------------------------------------------------------------


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def ratios(ingest: PhaseResult, echo: PhaseResult | None) -> dict[str, float | None]:
    if echo is None:
        return {"throughput": None, "p50": None, "p99": None}
    return {
        "throughput": _round(_ratio(ingest.events_per_second, echo.events_per_second)),
        "p50": _round(_ratio(ingest.percentile_ms(50), echo.percentile_ms(50))),
        "p99": _round(_ratio(ingest.percentile_ms(99), echo.percentile_ms(99))),
    }


def _cell(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def render_table(*, args: argparse.Namespace, ingest: PhaseResult, echo: PhaseResult | None) -> str:
    phases = [ingest] + ([echo] if echo else [])
    ratio = ratios(ingest, echo)
    rows: list[tuple[str, list[str], str]] = [
        (
            "events/s",
            [_cell(p.events_per_second, ",.0f") for p in phases],
            _cell(ratio["throughput"], ".3f"),
        ),
        ("frames/s", [_cell(p.frames_per_second, ",.0f") for p in phases], ""),
        (
            "ack p50 ms",
            [_cell(p.percentile_ms(50), ".2f") for p in phases],
            _cell(ratio["p50"], ".2f") + "x" if ratio["p50"] else "-",
        ),
        ("ack p90 ms", [_cell(p.percentile_ms(90), ".2f") for p in phases], ""),
        (
            "ack p99 ms",
            [_cell(p.percentile_ms(99), ".2f") for p in phases],
            _cell(ratio["p99"], ".2f") + "x" if ratio["p99"] else "-",
        ),
        ("acked", [f"{p.acked}/{p.events}" for p in phases], ""),
        ("stored / dup", [f"{ingest.stored} / {ingest.duplicate}"] + ["-"] * (len(phases) - 1), ""),
        ("rate limited", [str(ingest.rate_limited)] + ["-"] * (len(phases) - 1), ""),
        ("errors", [_errors_text(p) for p in phases], ""),
        ("elapsed s", [f"{p.elapsed:.3f}" for p in phases], ""),
    ]
    header = ["", "ingest"] + (["echo", "ingest/echo"] if echo else [])
    lines = [
        f"{args.events} events over {args.sockets} sockets, batch {args.batch}, "
        f"window {args.window}, {ingest.url}",
        "",
        f"{header[0]:<14}" + "".join(f"{h:>14}" for h in header[1:]),
    ]
    for label, cells, ratio_cell in rows:
        line = f"{label:<14}" + "".join(f"{c:>14}" for c in cells)
        if echo:
            line += f"{ratio_cell:>14}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def _errors_text(result: PhaseResult) -> str:
    return ", ".join(f"{code}={n}" for code, n in sorted(result.errors.items())) or "0"


# --- main -------------------------------------------------------------------------------------


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the ingest socket against a raw echo socket on the same server."
    )
    parser.add_argument("--url", required=True, help="server base, e.g. ws://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="integration token for ingest")
    parser.add_argument("--events", type=_positive_int, required=True, help="events to send")
    parser.add_argument("--sockets", type=_positive_int, default=1, help="concurrent sockets")
    parser.add_argument("--batch", type=_positive_int, default=1, help="events per frame")
    parser.add_argument(
        "--window", type=_positive_int, default=50, help="unacked events per socket (default 50)"
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=120.0,
        help="seconds allowed for each phase (default 120)",
    )
    parser.add_argument("--no-echo", action="store_true", help="skip the echo baseline")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    if args.sockets > args.events:
        parser.error("--sockets cannot exceed --events")
    try:
        args.ingest_url = endpoint(args.url, INGEST_PATH)
        args.echo_url = endpoint(args.url, ECHO_PATH)
    except ValueError as exc:
        parser.error(str(exc))
    return args


async def run_bench(
    args: argparse.Namespace,
) -> tuple[PhaseResult | None, PhaseResult | None, str | None]:
    """Runs the echo baseline, then ingest. Returns (ingest, echo, why the server refused)."""
    # Check the token first, so a bad one fails before the echo phase has run.
    ws, refusal = await _open(
        name="ingest", url=args.ingest_url, token=args.token, time_limit=args.timeout
    )
    if ws is None:
        return None, None, refusal
    await ws.close()
    run_id = secrets.token_hex(4)
    frames_per_socket = [
        build_frames(run_id=run_id, socket_index=i, count=count, batch=args.batch)
        for i, count in enumerate(split_evenly(args.events, args.sockets))
    ]
    echo = None
    if not args.no_echo:
        # Echo first: it warms the server's socket stack without writing anything.
        echo = await run_phase(
            name="echo",
            url=args.echo_url,
            token=None,
            frames_per_socket=frames_per_socket,
            window=args.window,
            time_limit=args.timeout,
        )
        if echo.refused:
            return None, None, echo.failure
    ingest = await run_phase(
        name="ingest",
        url=args.ingest_url,
        token=args.token,
        frames_per_socket=frames_per_socket,
        window=args.window,
        time_limit=args.timeout,
    )
    if ingest.refused:
        return None, echo, ingest.failure
    return ingest, echo, None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ingest, echo, refusal = asyncio.run(run_bench(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    failures = [p.failure for p in (echo, ingest) if p is not None and p.failure]
    if refusal:
        failures.insert(0, refusal)
    if args.json:
        report = {
            "params": {
                "url": args.url,
                "events": args.events,
                "sockets": args.sockets,
                "batch": args.batch,
                "window": args.window,
                "timeout": args.timeout,
            },
            "ingest": ingest.as_dict() if ingest else None,
            "echo": echo.as_dict() if echo else None,
            "ratio": ratios(ingest, echo) if ingest else None,
            "ok": not failures and not (ingest and ingest.errors),
            "failures": failures,
        }
        print(json.dumps(report, indent=2))
    elif ingest:
        print(render_table(args=args, ingest=ingest, echo=echo))
    if ingest and ingest.rate_limited:
        print(
            f"warning: the server rate-limited {ingest.rate_limited} sends, so ingest "
            "throughput shows the per-token limit; raise BATON_INGEST_RATE and "
            "BATON_INGEST_BURST on the server to measure the server itself",
            file=sys.stderr,
        )
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    if refusal:
        return EXIT_REFUSED
    if ingest and ingest.errors and not failures:
        print(f"error: the server rejected events: {_errors_text(ingest)}", file=sys.stderr)
    return EXIT_FAILED if failures or ingest is None or ingest.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
