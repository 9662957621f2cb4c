"""Benchmark the agent desk: page server times, assignment throughput and handoff latency.

    python -m bench.desk [--cases 10000] [--messages 500] [--orders 1000] [--requests 20]
                         [--assign-cases 3000] [--handoffs 100] [--flush]

Runs on a fresh database: a temporary SQLite file unless DATABASE_URL is set. On PostgreSQL
point DATABASE_URL at a scratch database; the bench refuses one that holds cases unless given
--flush (it empties the database). Embedded throughout: the in-memory channel layer, Celery
tasks in-process, the embedded analyzers (REDIS_URL and OPENAI_* are ignored).

1. The queue page with 10,000 open cases, timed in-process with django.test.Client (server
   time: no network), median of --requests. Baselines: the same page with an empty queue, and
   the bare ORM query for the cards it shows.
2. The case page with 500 messages and 1,000 orders on its customer; same baselines.
3. Assignment throughput: 20 agents online, cases_auto_assign run until the queue is empty; 4
   threads on PostgreSQL, one on SQLite (which has no row locks). Baseline: a bare
   claim-one-row loop (SELECT ... FOR UPDATE SKIP LOCKED, UPDATE) on the same threads.
4. Handoff to case visible: daphne on a free loopback port serves the emptied database; an
   agent's desk socket (session cookie, Origin of the server) and a platform's ingest socket
   are open; from sending a handoff event until the queue fragment naming the conversation
   arrives on the desk socket. Baselines: the echo socket's round trip, and a customer
   message's ack on the ingest socket.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.scratch import scratch_django
from bench.server import daphne_server

ROOT = Path(__file__).resolve().parent.parent


def _ms(seconds: float) -> float:
    return seconds * 1000


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * share) - 1))]


def _row(name: str, value: str, target: str = "", baseline: str = "") -> None:
    print(f"  {name:<44}{value:>16}{target:>14}   {baseline}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--orders", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--assign-cases", type=int, default=3_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--handoffs", type=int, default=100)
    parser.add_argument("--flush", action="store_true", help="empty a database holding cases")
    args = parser.parse_args()

    with scratch_django(flush=args.flush) as vendor:
        from django.core.management import call_command

        print(f"desk benchmark on {vendor}, in-memory channel layer, tasks in-process")
        bench_pages(args)
        bench_assignment(args, vendor)
        call_command("flush", interactive=False, verbosity=0)
        return bench_latency(args)


# --- 1 and 2: pages ---------------------------------------------------------------------------


def _agent(username: str, **profile: Any) -> Any:
    from django.contrib.auth import get_user_model

    from escalation.models import AgentProfile

    user = get_user_model().objects.create_user(username=username, first_name=username.title())
    AgentProfile.objects.create(user=user, **profile)
    return user


def _conversations(integration: Any, prefix: str, count: int) -> list[Any]:
    from conversations.models import Conversation, CustomerRef

    refs = CustomerRef.objects.bulk_create(
        CustomerRef(integration=integration, name=f"Customer {n}", email=f"c{n}@example.com")
        for n in range(count // 3)
    )
    return Conversation.objects.bulk_create(
        Conversation(
            integration=integration,
            external_id=f"{prefix}-{n:06d}",
            owner=Conversation.Owner.HUMAN,
            customer=refs[n // 3] if n % 3 == 0 and n // 3 < len(refs) else None,
        )
        for n in range(count)
    )


def _open_cases(
    integration: Any, prefix: str, count: int, *, assignees: list[Any], team: str = "general"
) -> list[Any]:
    from django.utils import timezone

    from escalation.cases.routing import case_schedule
    from escalation.models import Case

    now = timezone.now()
    topics = ["shipping", "refund", "billing", "bereavement", "fraud", "product"]
    cases = []
    for n, conversation in enumerate(_conversations(integration, prefix, count)):
        assigned = bool(assignees) and n % 4 == 0
        case = Case(
            conversation=conversation,
            status=Case.Status.ASSIGNED if assigned else Case.Status.QUEUED,
            assignee=assignees[n % len(assignees)] if assigned else None,
            trigger=Case.Trigger.HANDOFF,
            reason="customer_request",
            team=team,
            priority=20 + n % 75,
            topic=topics[n % len(topics)],
            risk=(n % 10) / 10,
            summary_line=f"Wants a refund for order #{n:07d}, which arrived damaged",
            sentiment=-((n % 7) / 7),
            sentiment_trend=0.1 if n % 2 else -0.2,
        )
        case_schedule(case=case, now=now - timedelta(seconds=n * 7))
        cases.append(case)
    return Case.objects.bulk_create(cases, batch_size=2000)


def _analyze() -> None:
    """Planner statistics, as autovacuum would have gathered by now on a live PostgreSQL (a
    freshly bulk-loaded table has none, and gets nested-loop plans)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _timed(run: Callable[[], Any], n: int) -> list[float]:
    for _ in range(3):
        run()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        run()
        samples.append(_ms(time.perf_counter() - started))
    return samples


def _customer_with_orders(count: int) -> Any:
    from django.utils import timezone

    from store.models import (
        Customer,
        Fulfillment,
        Order,
        OrderItem,
        Payment,
        PaymentMethod,
        PriorContact,
        Subscription,
    )

    customer = Customer.objects.create(
        customer_id="bench_customer",
        first_name="Dana",
        last_name="Reyes",
        email="dana@example.com",
        lifetime_value=Decimal("4200.00"),
    )
    card = PaymentMethod.objects.create(
        method_id="credit_card_bench", customer=customer, source="credit_card", last_four="4242"
    )
    PaymentMethod.objects.create(method_id="paypal_bench", customer=customer, source="paypal")
    now = timezone.now()
    orders = Order.objects.bulk_create(
        (
            Order(
                order_id=f"#B{n:07d}",
                customer=customer,
                status="delivered",
                total=Decimal("100.00"),
                created_at=now - timedelta(hours=n),
            )
            for n in range(count)
        ),
        batch_size=2000,
    )
    OrderItem.objects.bulk_create(
        (
            OrderItem(
                order=order,
                item_id=f"{1000000 + k}",
                product_id="9000001",
                name="Hiking Boots",
                options={"size": "10"},
                price=Decimal("50.00"),
            )
            for order in orders
            for k in range(2)
        ),
        batch_size=2000,
    )
    Payment.objects.bulk_create(
        (
            Payment(
                order=order,
                transaction_type="payment",
                amount=order.total,
                payment_method_id=card.method_id,
            )
            for order in orders
        ),
        batch_size=2000,
    )
    Fulfillment.objects.bulk_create(
        (Fulfillment(order=order, tracking_ids=[f"1Z{order.pk:09d}"]) for order in orders),
        batch_size=2000,
    )
    Subscription.objects.create(
        subscription_id="sub_bench",
        customer=customer,
        plan="Trail Club monthly",
        started_at=now - timedelta(days=100),
        price=Decimal("20.00"),
    )
    PriorContact.objects.bulk_create(
        PriorContact(
            customer=customer, topic="shipping", outcome="resolved", contacted_at=now - timedelta(n)
        )
        for n in range(40)
    )
    return customer


def _case_with_messages(integration: Any, customer: Any, messages: int) -> Any:
    from django.utils import timezone

    from actions.services import action_draft
    from conversations.models import Conversation, Event
    from escalation.cases.routing import case_schedule
    from escalation.models import Case, CaseEvent, HandoffPacket

    conversation = Conversation.objects.create(
        integration=integration,
        external_id="bench-case",
        owner=Conversation.Owner.HUMAN,
        account_id=customer.customer_id,
        last_seq=messages,
    )
    now = timezone.now()
    Event.objects.bulk_create(
        (
            Event(
                integration=integration,
                conversation=conversation,
                event_id=f"m{seq}",
                seq=seq,
                type="tool_call" if seq % 25 == 0 else "message",
                role="" if seq % 25 == 0 else ("customer", "ai")[seq % 2],
                text=f"Message {seq}: my boots from order #B0000001 fell apart after a week.",
                payload=(
                    {"tool": "get_order_details", "status": "ok", "args": {"order_id": "#B1"}}
                    if seq % 25 == 0
                    else {"role": ("customer", "ai")[seq % 2]}
                ),
                at=now,
            )
            for seq in range(1, messages + 1)
        ),
        batch_size=2000,
    )
    case = Case(
        conversation=conversation,
        status=Case.Status.QUEUED,
        trigger=Case.Trigger.HANDOFF,
        reason="policy",
        summary_line="Refund over the AI's limit",
    )
    case_schedule(case=case)
    case.save()
    HandoffPacket.objects.create(
        case=case,
        version=1,
        backend="embedded",
        data={
            "summary": {"text": "Boots fell apart; wants $150 back.", "customer_wants": "refund"},
            "sentiment": {"trajectory": [0.1, -0.3, -0.6, -0.7]},
            "suggested_reply": "I'm sorry about the boots.",
            "entities": [{"type": "order_id", "value": "#B0000001"}],
        },
    )
    for amount in ("150.00", "40.00", "10.00"):
        action_draft(
            tool="refund_payment",
            args={"order_id": "#B0000001", "amount": amount, "reason": "defective"},
            drafted_by="ai",
            account_id=customer.customer_id,
            conversation=conversation,
            case=case,
        )
    CaseEvent.objects.bulk_create(
        CaseEvent(case=case, kind=CaseEvent.Kind.NOTE, data={"text": f"note {n}"})
        for n in range(20)
    )
    return case


def bench_pages(args: argparse.Namespace) -> None:
    from django.test import Client
    from django.urls import reverse

    from conversations.services import integration_create
    from desk.selectors import (
        QUEUE_PAGE_SIZE,
        QueueQuery,
        case_workspace,
        queue_for_agent,
        queue_scope,
    )
    from escalation.cases.access import case_access
    from escalation.models import Team

    integration, _ = integration_create(name="bench-pages")
    agents = [_agent(f"agent{n:02d}") for n in range(args.agents)]
    maya = agents[0]
    idle = _agent("idle")
    idle.agent_profile.teams.add(Team.objects.create(slug="quiet", name="Quiet"))
    started = time.perf_counter()
    _open_cases(integration, "q", args.cases, assignees=agents)
    print(f"\nseeded {args.cases} open cases in {time.perf_counter() - started:.1f} s")
    _analyze()

    client = Client()
    client.force_login(maya)
    empty = Client()
    empty.force_login(idle)
    queue_url = reverse("desk:queue")

    def queue_page() -> None:
        response = client.get(queue_url)
        assert response.status_code == 200 and b'class="card ' in response.content

    def empty_page() -> None:
        assert b"queue-empty" in empty.get(queue_url).content

    def queue_orm() -> None:
        scope = queue_scope(user=maya)
        cases = queue_for_agent(user=maya, scope=scope, query=QueueQuery(view=scope.default_view))
        assert len(list(cases)) == min(QUEUE_PAGE_SIZE, args.cases)

    page = statistics.median(_timed(queue_page, args.requests))
    trivial = statistics.median(_timed(empty_page, args.requests))
    orm = statistics.median(_timed(queue_orm, args.requests))
    print(f"\n1. queue page, {args.cases} open cases (median of {args.requests} requests)")
    _row("", "ms", "target", "same-run baseline")
    _row(
        "queue page",
        f"{page:.1f}",
        "<= 50",
        f"empty queue page {trivial:.1f} ms; bare ORM for the cards {orm:.1f} ms",
    )

    started = time.perf_counter()
    customer = _customer_with_orders(args.orders)
    case = _case_with_messages(integration, customer, args.messages)
    _analyze()
    print(
        f"\nseeded {args.messages} messages and {args.orders} orders in "
        f"{time.perf_counter() - started:.1f} s"
    )
    case_url = reverse("desk:case", args=[case.pk])

    def case_page() -> None:
        response = client.get(case_url)
        assert response.status_code == 200 and b"#B0000000" in response.content

    def case_orm() -> None:
        workspace = case_workspace(case=case_access(user=maya, case_id=case.pk))
        assert len(workspace.events) == args.messages

    page = statistics.median(_timed(case_page, args.requests))
    orm = statistics.median(_timed(case_orm, args.requests))
    print(
        f"\n2. case page, {args.messages} messages, {args.orders} orders "
        f"(median of {args.requests} requests)"
    )
    _row("", "ms", "target", "same-run baseline")
    _row(
        "case page",
        f"{page:.1f}",
        "<= 80",
        f"empty queue page {trivial:.1f} ms; its selectors alone (ORM) {orm:.1f} ms",
    )


# --- 3: assignment throughput -----------------------------------------------------------------


def _run_threads(threads: int, work: Callable[[], int]) -> tuple[int, float]:
    from django.db import connection

    barrier = threading.Barrier(threads + 1)
    done: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            done.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(done), elapsed


def bench_assignment(args: argparse.Namespace, vendor: str) -> None:
    from django.db import transaction
    from django.db.models import Count
    from django.utils import timezone

    from conversations.services import integration_create
    from escalation.cases.routing import cases_auto_assign
    from escalation.models import AgentProfile, Case, Team

    # The pages' cases and agents step aside.
    Case.objects.update(status=Case.Status.RESOLVED)
    AgentProfile.objects.update(presence=AgentProfile.Presence.OFFLINE)
    integration, _ = integration_create(name="bench-assign")
    team = Team.objects.create(slug="assign", name="Assign")
    per_agent = -(-args.assign_cases // args.agents)
    agents = []
    for n in range(args.agents):
        user = _agent(
            f"assigner{n:02d}",
            capacity=min(per_agent, 32767),
            presence=AgentProfile.Presence.ONLINE,
            # Online for the whole run, however long it takes (no desk socket beats for them).
            last_seen_at=timezone.now() + timedelta(hours=1),
        )
        user.agent_profile.teams.add(team)
        agents.append(user)
    cases = _open_cases(integration, "a", args.assign_cases, assignees=[], team="assign")
    ids = [c.pk for c in cases]
    # SQLite has no row locks: concurrent assigners there could overfill an agent.
    thread_counts = [4, 1] if vendor == "postgresql" else [1]

    def assign_all() -> int:
        total = 0
        while assigned := cases_auto_assign():
            total += assigned
        return total

    def claim_all() -> int:
        total = 0
        while True:
            with transaction.atomic():
                case = (
                    Case.objects.select_for_update(skip_locked=True)
                    .filter(status=Case.Status.QUEUED, team="assign")
                    .order_by("due_key", "id")
                    .first()
                )
                if case is None:
                    return total
                case.status = Case.Status.ASSIGNED
                case.assignee_id = agents[total % len(agents)].pk
                case.save(update_fields=["status", "assignee"])
            total += 1

    def requeue() -> None:
        Case.objects.filter(pk__in=ids).update(status=Case.Status.QUEUED, assignee=None)

    print(
        f"\n3. assignment throughput, {args.agents} agents online, {len(ids)} queued cases "
        f"({vendor})"
    )
    _row("", "cases/s", "target", "same-run baseline")
    for threads in thread_counts:
        requeue()
        assigned, elapsed = _run_threads(threads, assign_all)
        assert assigned == len(ids), (assigned, len(ids))
        held = Case.objects.filter(pk__in=ids).values("assignee").annotate(n=Count("id"))
        assert max(row["n"] for row in held) <= per_agent
        requeue()
        claimed, claim_elapsed = _run_threads(threads, claim_all)
        assert claimed == len(ids)
        _row(
            f"cases_auto_assign, {threads} thread{'s' if threads > 1 else ''}",
            f"{assigned / elapsed:,.0f}",
            "(report)",
            f"bare claim loop (SKIP LOCKED + UPDATE) {claimed / claim_elapsed:,.0f} cases/s",
        )


# --- 4: handoff to case visible ---------------------------------------------------------------


def bench_latency(args: argparse.Namespace) -> int:
    from django.test import Client
    from websockets.sync.client import connect

    from conversations.services import integration_create

    agent = _agent("latency", capacity=10_000)
    client = Client()
    client.force_login(agent)
    session = client.cookies["sessionid"].value
    _, token = integration_create(name="bench-latency")

    env = {
        **os.environ,
        "BATON_INGEST_RATE": "1000000",
        "BATON_INGEST_BURST": "1000000",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at",
    }
    with daphne_server(env=env) as port:
        origin = f"http://127.0.0.1:{port}"
        ws = f"ws://127.0.0.1:{port}"
        with (
            connect(
                f"{ws}/ws/desk/queue/",
                additional_headers={"Cookie": f"sessionid={session}", "Origin": origin},
                open_timeout=10,
            ) as desk,
            connect(
                f"{ws}/ws/ingest/v1/",
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=10,
            ) as platform,
            connect(f"{ws}/ws/bench/echo/", open_timeout=10) as echo,
        ):
            assert 'id="queue-list"' in desk.recv(timeout=10)
            visible, acks, echoes = _handoffs(args.handoffs, desk, platform, echo)

    print(f"\n4. handoff event to case visible on the desk socket, {len(visible)} handoffs")
    print("   (daphne, embedded analyzers, in-memory channel layer)")
    _row("", "p50 / p99 ms", "target", "same-run baseline (p50 / p99 ms)")
    _row(
        "handoff -> queue fragment with the case",
        f"{statistics.median(visible):.1f} / {_p(visible, 0.99):.1f}",
        "p99 <= 300",
        f"echo round trip {statistics.median(echoes):.2f} / {_p(echoes, 0.99):.2f}; "
        f"customer message ack {statistics.median(acks):.1f} / {_p(acks, 0.99):.1f}",
    )
    return 0


def _handoffs(count: int, desk: Any, platform: Any, echo: Any) -> tuple[list[float], ...]:
    from escalation.models import Case

    visible: list[float] = []
    acks: list[float] = []
    echoes: list[float] = []

    def frames_until(sock: Any, done: Callable[[str], bool], seconds: float = 10) -> None:
        while not done(sock.recv(timeout=seconds)):
            pass

    for n in range(count):
        conversation = f"lat-{n:05d}"
        message = {
            "type": "message",
            "id": f"{conversation}-1",
            "conversation": conversation,
            "seq": 1,
            "at": "2026-11-27T10:00:00Z",
            "role": "customer",
            "text": "Hi! Where is my order #W0000001? It said it would arrive on Tuesday.",
            "customer": {"external_id": f"cust-{n}", "name": "Dana Reyes"},
        }
        started = time.perf_counter()
        echo.send("ping")
        echo.recv(timeout=10)
        echoes.append(_ms(time.perf_counter() - started))

        started = time.perf_counter()
        platform.send(json.dumps(message))
        frames_until(platform, lambda raw: json.loads(raw).get("type") == "ack")
        acks.append(_ms(time.perf_counter() - started))
        _drain(desk)
        # Only the handoff may open the case, or there would be nothing to time.
        assert not Case.objects.filter(conversation__external_id=conversation).exists()

        handoff = {
            "type": "handoff",
            "id": f"{conversation}-2",
            "conversation": conversation,
            "seq": 2,
            "at": "2026-11-27T10:00:01Z",
            "reason": "customer_request",
            "note": "The customer asked for a person.",
        }
        marker = f">{conversation}<"
        started = time.perf_counter()
        platform.send(json.dumps(handoff))
        frames_until(desk, lambda raw, marker=marker: marker in raw)
        visible.append(_ms(time.perf_counter() - started))
        # The platform hears of the new owner, the ack, and the agent's greeting.
        frames_until(platform, lambda raw: json.loads(raw).get("role") == "agent")
        if n % 10 == 0:
            desk.send(json.dumps({"type": "heartbeat"}))
        _drain(desk)
    return visible, acks, echoes


def _drain(sock: Any, quiet: float = 0.05) -> None:
    """Read whatever is still on its way (pushes from the last handoff) until it goes quiet."""
    while True:
        try:
            sock.recv(timeout=quiet)
        except TimeoutError:
            return


if __name__ == "__main__":
    sys.exit(main())
