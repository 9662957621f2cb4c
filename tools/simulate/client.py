"""The wire client: streams conversations over the ingest socket (docs/protocol.md), paced to a
rate, resending unacked events after a reconnect, and following control and agent frames."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tools.simulate.cast import CastMember
from tools.simulate.conversation import (
    Conversation,
    event_body,
    new_conversation,
    rfc3339_now,
    survey_steps,
)
from tools.simulate.data import scripts
from tools.simulate.errors import SimulationError

DEFAULT_URL = "ws://127.0.0.1:8000/ws/ingest/v1/"

AUTH_CLOSE_CODES = frozenset({4401, 4403})
AUTH_HTTP_STATUSES = frozenset({401, 403})
# An angry, grieving or scheming customer answers a person's first messages in kind
# (scenarios.json, customer_replies_by_kind), then as anyone would.
UPSET_REPLIES = 3

Write = Callable[[str], None]


@dataclass
class SimulationTotals:
    conversations: int = 0
    cut_short: int = 0
    events: int = 0
    sends: int = 0
    stored: int = 0
    duplicate: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    controls: Counter[str] = field(default_factory=Counter)
    agent_messages: int = 0
    reconnects: int = 0
    unacked: int = 0
    interrupted: bool = False

    def lines(self) -> list[str]:
        errors = ", ".join(f"{code}={n}" for code, n in sorted(self.errors.items())) or "none"
        controls = ", ".join(f"{key}={n}" for key, n in sorted(self.controls.items())) or "none"
        return [
            f"conversations finished: {self.conversations}, cut short: {self.cut_short}"
            + ("  (interrupted)" if self.interrupted else ""),
            f"events: {self.events} sent ({self.sends - self.events} resends), "
            f"{self.stored} stored, {self.duplicate} duplicate, {self.unacked} never acked",
            f"errors: {errors}",
            f"controls received: {controls}; agent messages: {self.agent_messages}; "
            f"reconnects: {self.reconnects}",
        ]


@dataclass
class _Unacked:
    frame: str
    conversation: Conversation
    last_sent: float


class _Disconnected(Exception):
    pass


class _Stalled(Exception):
    pass


class _Simulator:
    # TCP does not lose frames on a live socket, so unacked events are resent only after a
    # reconnect; a socket that acks nothing for this long is treated as dead and reopened.
    ack_timeout = 30.0
    max_unacked = 1000
    max_backoff = 15.0
    # Finished conversations stay known so late control and agent frames still find them;
    # a --forever run keeps only this many.
    max_known = 5000
    # A warm-up that sees no conversation go to a person ends after this many events each.
    max_warmup_events = 15

    def __init__(
        self,
        *,
        url: str,
        token: str,
        rate: float,
        conversations: int | None,
        concurrency: int,
        seed: int | None,
        run_id: str | None,
        drain_timeout: float,
        write: Write,
        cast: Sequence[CastMember] = (),
        verbose: bool = True,
        warmup: int = 0,
    ) -> None:
        self.url = url
        self.cast = cast
        self.token = token
        self.rate = rate
        self.limit = conversations
        self.concurrency = concurrency
        self.rng = random.Random(seed)
        self.run_id = run_id or secrets.token_hex(3)
        self.drain_timeout = drain_timeout
        self.write = write
        # Per-conversation lines (finished, taken over, an agent's message): details that a
        # quiet run leaves out. Connection trouble, errors and the totals are always written.
        self.detail: Write = write if verbose else (lambda line: None)
        # Until `warmup` conversations have gone to a person, events go out at up to one a
        # second, then `rate` paces them: a slow run has cases on the queue within seconds.
        self.warmup = warmup
        self.totals = SimulationTotals()

        self.started = 0
        self.active: list[Conversation] = []
        self.known: dict[str, Conversation] = {}
        self.unacked: dict[str, _Unacked] = {}
        self.resend: deque[str] = deque()
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.rate_limit_streak = 0
        self.last_stall_check = 0.0
        self.last_reply_at = 0.0
        self.stopping = False
        self.drain_deadline: float | None = None
        self.wake = asyncio.Event()

    # -- lifecycle --

    async def run(self) -> SimulationTotals:
        loop = asyncio.get_running_loop()
        main_task = asyncio.current_task()
        interrupts = 0

        def on_interrupt() -> None:
            nonlocal interrupts
            interrupts += 1
            self.totals.interrupted = True
            if interrupts == 1:
                self.write(
                    f"stopping: waiting up to {self.drain_timeout:g}s for acks "
                    "(Ctrl-C again to quit now)"
                )
                self._stop()
            elif main_task is not None:
                main_task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, on_interrupt)
        try:
            await self._connect_loop()
        except asyncio.CancelledError:
            if not interrupts or main_task is None:
                raise
            main_task.uncancel()
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
        self.totals.unacked = len(self.unacked)
        for conversation in list(self.known.values()):
            if not conversation.reported and conversation.seq:
                conversation.ending = conversation.ending or "interrupted"
                self._report(conversation)
        for line in self.totals.lines():
            self.write(line)
        return self.totals

    def _stop(self) -> None:
        self.stopping = True
        if self.drain_deadline is None:
            self.drain_deadline = time.monotonic() + self.drain_timeout
        self.wake.set()

    def _generation_done(self) -> bool:
        if self.stopping:
            return True
        return self.limit is not None and self.started >= self.limit and not self.active

    def _finished(self) -> bool:
        if not self._generation_done():
            return False
        if self.drain_deadline is None:
            self.drain_deadline = time.monotonic() + self.drain_timeout
        return not self.unacked or time.monotonic() >= self.drain_deadline

    async def _connect_loop(self) -> None:
        attempt = 0
        self._fill_active()
        while not self._finished():
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    proxy=None,
                    open_timeout=10,
                ) as ws:
                    if attempt:
                        self.write(f"reconnected; resending {len(self.unacked)} unacked events")
                    attempt = 0
                    self.last_reply_at = time.monotonic()
                    self.resend = deque(self.unacked)
                    await self._serve(ws)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in AUTH_HTTP_STATUSES:
                    raise SimulationError(
                        f"the server refused the token (HTTP {status}) at {self.url}"
                    ) from exc
                self.write(f"connection refused: HTTP {status}")
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code in AUTH_CLOSE_CODES:
                    raise SimulationError(
                        f"the server closed the socket with {code}: the token was refused"
                    ) from exc
                self.write(f"connection lost ({code or 'no close frame'})")
            except _Disconnected:
                self.write("connection closed by the server")
            except _Stalled:
                self.write(f"no acks for {self.ack_timeout:g}s; reopening the socket")
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.write(f"cannot connect: {exc or type(exc).__name__}")
            if self._finished():
                break
            attempt += 1
            self.totals.reconnects += 1
            delay = min(self.max_backoff, 0.5 * 2 ** (attempt - 1)) * self.rng.uniform(0.5, 1.0)
            self.write(f"reconnecting in {delay:.1f}s ({len(self.unacked)} unacked)")
            await self._sleep_unless_stopping(delay)

    async def _sleep_unless_stopping(self, delay: float) -> None:
        end = time.monotonic() + delay
        while not self._finished() and (remaining := end - time.monotonic()) > 0:
            await self._wait_for_wake(remaining)

    async def _serve(self, ws: ClientConnection) -> None:
        sender = asyncio.create_task(self._send_loop(ws))
        receiver = asyncio.create_task(self._receive_loop(ws))
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done and sender.exception() is None:
                await ws.close()
                with contextlib.suppress(ConnectionClosed):
                    await receiver
                return
        finally:
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)
        for task in (receiver, sender):
            if task in done and (exc := task.exception()) is not None:
                raise exc
        if ws.close_code in AUTH_CLOSE_CODES:
            raise SimulationError(
                f"the server closed the socket with {ws.close_code}: the token was refused"
            )
        raise _Disconnected

    # -- sending --

    async def _send_loop(self, ws: ClientConnection) -> None:
        while not self._finished():
            now = time.monotonic()
            wait = max(self.next_slot, self.paused_until) - now
            if wait > 0:
                await self._wait_for_wake(wait)
                continue
            self._check_stalled(now)
            frame = self._next_frame()
            if frame is None:
                await self._wait_for_wake(0.25)
                continue
            interval = 1.0 / self.rate
            if self._warming_up():
                interval = min(interval, 1.0)
            self.next_slot = max(self.next_slot, now) + interval
            self.totals.sends += 1
            await ws.send(frame)

    def _warming_up(self) -> bool:
        if not self.warmup or self.totals.sends >= self.warmup * self.max_warmup_events:
            return False
        taken = sum(n for key, n in self.totals.controls.items() if key.startswith("human "))
        return taken < self.warmup

    async def _wait_for_wake(self, seconds: float) -> None:
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)

    def _check_stalled(self, now: float) -> None:
        if not self.unacked or now - self.last_stall_check < 1.0:
            return
        self.last_stall_check = now
        if now - self.last_reply_at < self.ack_timeout:
            return
        oldest = min(item.last_sent for item in self.unacked.values())
        if now - oldest >= self.ack_timeout:
            raise _Stalled

    def _next_frame(self) -> str | None:
        while self.resend:
            event_id = self.resend.popleft()
            item = self.unacked.get(event_id)
            if item is not None:
                item.last_sent = time.monotonic()
                return item.frame
        if self.stopping or len(self.unacked) >= self.max_unacked:
            return None
        self._fill_active()
        while self.active:
            frame = self._next_event(self.rng.choice(self.active))
            if frame is not None:
                return frame
        return None

    def _fill_active(self) -> None:
        while len(self.active) < self.concurrency and not self.stopping:
            if self.limit is not None and self.started >= self.limit:
                return
            self.started += 1
            conversation = new_conversation(
                conversation_id=f"sim-{self.run_id}-{self.started:05d}",
                rng=self.rng,
                cast=self.cast,
            )
            self.known[conversation.id] = conversation
            self.active.append(conversation)
            self._forget_old()

    def _forget_old(self) -> None:
        while len(self.known) > self.max_known:
            oldest = next(iter(self.known.values()))
            if not oldest.reported or oldest.unacked or oldest in self.active:
                return
            del self.known[oldest.id]

    def _next_event(self, conversation: Conversation) -> str | None:
        """Registers the conversation's next event as unacked and returns its frame.

        Retires the conversation once its script is exhausted.
        """
        while conversation.steps and not conversation.refused:
            body = conversation.steps.popleft()
            # Only the owner speaks: once a human owns it, the AI's script is moot. The
            # customer's own words and survey answers still go.
            if conversation.owner == "human" and not _from_customer(body):
                continue
            conversation.seq += 1
            event: dict[str, Any] = {
                "id": f"{conversation.id}-{conversation.seq}",
                "conversation": conversation.id,
                "seq": conversation.seq,
                "at": rfc3339_now(),
                **body,
            }
            if conversation.seq == 1:
                event["customer"] = conversation.customer
            if body["type"] == "handoff":
                conversation.ending = f"handoff {body['reason']}"
            elif body["type"] == "close":
                conversation.ending = f"close {body['outcome']}"
                # The platform's survey goes out after the close; some customers answer it.
                conversation.steps.extend(
                    survey_steps(conversation, outcome=body["outcome"], rng=self.rng)
                )
            frame = json.dumps(event, ensure_ascii=False)
            self.unacked[event["id"]] = _Unacked(
                frame=frame, conversation=conversation, last_sent=time.monotonic()
            )
            conversation.unacked += 1
            self.totals.events += 1
            if not conversation.steps:
                self._retire(conversation)
            return frame
        self._retire(conversation)
        return None

    def _retire(self, conversation: Conversation) -> None:
        if conversation in self.active:
            self.active.remove(conversation)
        self._report_if_done(conversation)
        self._fill_active()

    def _add_steps(self, conversation: Conversation, steps: Sequence[dict[str, Any]]) -> None:
        if self.stopping or conversation.refused:
            return
        conversation.steps.extend(steps)
        conversation.reported = False
        self.drain_deadline = None
        if conversation not in self.active:
            self.active.append(conversation)
        self.wake.set()

    # -- receiving --

    async def _receive_loop(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                decoded = json.loads(raw)
            except ValueError:
                self.write(f"unreadable frame from the server: {str(raw)[:80]!r}")
                continue
            for frame in decoded if isinstance(decoded, list) else [decoded]:
                if isinstance(frame, dict):
                    self._handle(frame)
            self.wake.set()

    def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in ("ack", "error"):
            self.last_reply_at = time.monotonic()
        if kind == "ack":
            self._handle_ack(frame)
        elif kind == "error":
            self._handle_error(frame)
        elif kind == "control":
            self._handle_control(frame)
        elif kind == "message":
            self._handle_agent_message(frame)

    def _handle_ack(self, frame: dict[str, Any]) -> None:
        status = frame.get("status")
        if status == "duplicate":
            self.totals.duplicate += 1
        else:
            self.totals.stored += 1
            self.rate_limit_streak = 0
        item = self.unacked.pop(str(frame.get("id")), None)
        if item is None:
            return
        item.conversation.counts[str(status)] += 1
        item.conversation.unacked -= 1
        self._report_if_done(item.conversation)

    def _handle_error(self, frame: dict[str, Any]) -> None:
        code = str(frame.get("code") or "unknown")
        self.totals.errors[code] += 1
        event_id = frame.get("id")
        item = self.unacked.get(str(event_id)) if event_id is not None else None
        if item is None:
            self.write(f"error {code}: {frame.get('detail', '')}")
            return
        if code == "rate_limited":
            self.rate_limit_streak += 1
            backoff = min(self.max_backoff, 0.25 * 2 ** (self.rate_limit_streak - 1))
            self.paused_until = time.monotonic() + backoff * self.rng.uniform(0.75, 1.25)
            if event_id not in self.resend:
                self.resend.append(str(event_id))
            return
        del self.unacked[str(event_id)]
        conversation = item.conversation
        conversation.counts[f"error:{code}"] += 1
        conversation.unacked -= 1
        self.write(f"error {code} on {event_id}: {frame.get('detail', '')}")
        if code == "conversation_closed":
            conversation.refused = True
            conversation.steps.clear()
            conversation.ending = "refused: conversation closed"
        self._report_if_done(conversation)

    def _handle_control(self, frame: dict[str, Any]) -> None:
        owner, by = frame.get("owner"), frame.get("by")
        self.totals.controls[f"{owner} by {by}"] += 1
        conversation = self.known.get(str(frame.get("conversation")))
        if conversation is None or owner == conversation.owner:
            return
        conversation.owner = str(owner)
        if owner == "human":
            conversation.taken_by = str(by)
            conversation.human_since = time.monotonic()
            if not conversation.ending.startswith("handoff"):
                conversation.ending = f"taken by human ({by})"
            self.detail(f"control  {conversation.id}  human took over ({by})")
        elif owner == "ai":
            self.detail(f"control  {conversation.id}  handed back to the AI ({by})")
            steps = [
                event_body(s, variables=conversation.variables, rng=self.rng)
                for s in scripts().release_steps
            ]
            self._add_steps(conversation, steps)

    def _handle_agent_message(self, frame: dict[str, Any]) -> None:
        self.totals.agent_messages += 1
        conversation = self.known.get(str(frame.get("conversation")))
        text = str(frame.get("text", ""))
        self.detail(f"agent    {frame.get('conversation')}  {text[:70]!r}")
        if conversation is not None:
            conversation.agent_messages += 1
            if conversation.human_wait is None and conversation.human_since is not None:
                conversation.human_wait = time.monotonic() - conversation.human_since
            lines = scripts().customer_replies_to_agent
            own = scripts().customer_replies_by_kind.get(conversation.kind)
            if own and conversation.agent_messages <= UPSET_REPLIES:
                lines = own
            reply = {"customer": {"one_of": lines}}
            self._add_steps(
                conversation,
                [event_body(reply, variables=conversation.variables, rng=self.rng)],
            )

    # -- reporting --

    def _report_if_done(self, conversation: Conversation) -> None:
        if conversation.reported or conversation.unacked or conversation in self.active:
            return
        if conversation.steps and not conversation.refused:
            return
        self._report(conversation)

    def _report(self, conversation: Conversation) -> None:
        conversation.reported = True
        cut_short = bool(conversation.unacked or (conversation.steps and not conversation.refused))
        if not conversation.counted:
            conversation.counted = True
            if cut_short:
                self.totals.cut_short += 1
            else:
                self.totals.conversations += 1
        counts = conversation.counts
        errors = sum(n for key, n in counts.items() if key.startswith("error:"))
        name = conversation.variables["name"]
        label = "cut" if cut_short else "done"
        self.detail(
            f"{label:<8} {conversation.id}  {conversation.kind:<17} {name:<18} "
            f"{conversation.seq:>2} events  stored {counts['stored']:>2}  "
            f"dup {counts['duplicate']}  errors {errors}  -> {conversation.ending or 'open'}"
            + (f"  ({conversation.unacked} unacked)" if conversation.unacked else "")
        )


def _from_customer(body: dict[str, Any]) -> bool:
    return body.get("role") == "customer" or body.get("type") == "feedback"


def run_simulation(
    *,
    url: str,
    token: str,
    rate: float,
    conversations: int | None = 10,
    concurrency: int = 4,
    seed: int | None = None,
    run_id: str | None = None,
    drain_timeout: float = 30.0,
    write: Write = print,
    cast: Sequence[CastMember] = (),
    verbose: bool = True,
    warmup: int = 0,
) -> SimulationTotals:
    """Streams scripted conversations until `conversations` are done (None: until Ctrl-C).

    `verbose=False` writes only connection trouble, errors and the totals."""
    simulator = _Simulator(
        url=url,
        token=token,
        rate=rate,
        conversations=conversations,
        concurrency=concurrency,
        seed=seed,
        run_id=run_id,
        drain_timeout=drain_timeout,
        write=write,
        cast=cast,
        verbose=verbose,
        warmup=warmup,
    )
    return asyncio.run(simulator.run())
