from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from channels.layers import channel_layers, get_channel_layer
from channels.testing.live import make_application
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from actions.models import DraftedAction
from actions.services import action_draft
from conversations import events
from conversations.models import Integration
from conversations.services import integration_create
from escalation.models import AgentProfile, Case, HandoffPacket
from store.models import Payment
from tests.factories import CaseFactory, EventFactory, Store, agent_user, store_scenario
from tests.live import LiveServer, SpawnedDaphneProcess, live_server_setup


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Each test gets its own channel-layer instance.

    channels-redis keeps per-instance locks that bind to the event loop that first waits on them;
    a receive cancelled on one test's loop must not leave a lock that the next test's loop trips on.
    """
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def integration(db: None) -> tuple[Integration, str]:
    return integration_create(name="acme-bot")


@pytest.fixture
def other_integration(db: None) -> tuple[Integration, str]:
    return integration_create(name="other-bot")


@pytest.fixture
def agent(db: None) -> Any:
    user = get_user_model().objects.create_user(
        username="maya", password="pw-for-tests", first_name="Maya"
    )
    AgentProfile.objects.create(user=user, role=AgentProfile.Role.AGENT)
    return user


@dataclass
class Desk:
    store: Store
    bot: Integration
    case: Case
    drafted: DraftedAction
    maya: Any
    leo: Any
    client: Client

    def url(self, name: str, **kwargs: Any) -> str:
        if name in {"approve", "reject"}:
            kwargs.setdefault("action_id", self.drafted.pk)
        return reverse(f"desk:{name}", kwargs={"case_id": self.case.pk, **kwargs})

    def refunds(self) -> list[Decimal]:
        return list(
            Payment.objects.filter(
                order=self.store.delivered, transaction_type=Payment.Type.REFUND
            ).values_list("amount", flat=True)
        )


@pytest.fixture
def desk(db: None) -> Desk:
    """A queued refund case of the small store's customer: four messages, a packet and the
    AI's drafted refund of $150 on the delivered order; Maya logged in, Leo offline."""
    store = store_scenario()
    bot, _ = integration_create(name="acme-bot")
    customer = store.customer
    case = CaseFactory(
        conversation__integration=bot,
        conversation__account_id=customer.customer_id,
        conversation__customer_name=f"{customer.first_name} {customer.last_name}",
        reason="policy",
        note="Refund over the AI's limit",
        summary_line="Wants a refund for boots that fell apart",
    )
    for role in ("ai", "customer", "ai", "customer"):
        EventFactory(conversation=case.conversation, role=role)
    HandoffPacket.objects.create(
        case=case,
        version=1,
        backend=HandoffPacket.Backend.EMBEDDED,
        data={
            "summary": {
                "text": "The boots fell apart after a week; the customer wants $150 back.",
                "customer_wants": "a refund of $150",
            },
            "suggested_reply": "I'm sorry about the boots. Let me sort out the refund.",
            "sentiment": {"trajectory": [-0.2, -0.6]},
        },
    )
    # Drafted as the AI drafts, so the draft has its audit entry.
    drafted = action_draft(
        tool="refund_payment",
        args={"order_id": store.delivered.order_id, "amount": "150.00", "reason": "defective"},
        drafted_by="ai",
        account_id=customer.customer_id,
        conversation=case.conversation,
        case=case,
    )
    client = Client()
    maya = agent_user(username="maya")
    client.force_login(maya)
    return Desk(store, bot, case, drafted, maya, agent_user(username="leo"), client)


@pytest.fixture
def live_asgi_server(transactional_db: None) -> Iterator[LiveServer]:
    """Daphne serving config.asgi in a child process, on the test database."""
    process = SpawnedDaphneProcess(
        "127.0.0.1",
        partial(make_application, static_wrapper=None),
        setup=live_server_setup,
    )
    process.start()
    if not process.ready.wait(timeout=30):
        process.terminate()
        detail = process.errors.get(timeout=1)[1] if not process.errors.empty() else ""
        raise RuntimeError(f"daphne did not start\n{detail}")
    try:
        yield LiveServer(process.port.value)
    finally:
        process.terminate()
        process.join(timeout=10)


def chromium_path() -> str | None:
    return (
        os.environ.get("BATON_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI needs Debian's chromium for the browser tests (apt-get install chromium)"
            )
        pytest.skip("no chromium on this machine: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API refuses to run inside a running event loop; pytest-asyncio leaves
    # none running for sync tests.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()


def event(event_id: str, conversation: str, seq: int, **fields: Any) -> dict[str, Any]:
    """A valid protocol event; `fields` override the default customer message."""
    base: dict[str, Any] = {
        "type": "message",
        "id": event_id,
        "conversation": conversation,
        "seq": seq,
        "at": "2026-11-27T10:00:00Z",
        "role": "customer",
        "text": f"message {seq} of {conversation}",
    }
    base.update(fields)
    return base


def dumps(value: Any) -> str:
    return json.dumps(value)


class Listener:
    """A channel in a group of the channel layer, read on an event loop of its own."""

    def __init__(self, group: str) -> None:
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        self.channel = self.loop.run_until_complete(self.layer.new_channel())
        self.loop.run_until_complete(self.layer.group_add(group, self.channel))

    def received(self) -> list[dict[str, Any]]:
        """The pushes so far, without the `stamp` each group send gets (a random id)."""

        async def drain() -> list[dict[str, Any]]:
            messages = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), 0.05)
                except TimeoutError:
                    return messages
                assert len(message.pop("stamp", "")) == 32
                messages.append(message)

        return self.loop.run_until_complete(drain())

    def close(self) -> None:
        # A receive cut short by the timeout leaves channels-redis's cleanup task behind, holding
        # a lock; let it finish before the loop goes away.
        pending = asyncio.all_tasks(self.loop)
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=5))
        self.loop.close()


@pytest.fixture
def listen() -> Iterator[Callable[[str], Listener]]:
    listeners: list[Listener] = []

    def start(group: str) -> Listener:
        listeners.append(Listener(group))
        return listeners[-1]

    yield start
    for listener in listeners:
        listener.close()


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every push a service makes, as (group, typed event), in order; they are still sent.
    Zulip's capture_send_event_calls: a test pins what each service broadcasts."""
    sent: list[tuple[str, Any]] = []
    real = events.send_now

    def record(group: str, event: Any) -> None:
        sent.append((group, event))
        real(group, event)

    monkeypatch.setattr(events, "send_now", record)
    return sent


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Django removes the SQLite test database; SQLite's WAL side files it leaves behind."""
    name = os.environ.get("BATON_TEST_DB")
    if name and not os.path.exists(name):
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(name + suffix)
