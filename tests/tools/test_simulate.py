"""The demo's AI platform: `tools.simulate` as a real protocol client, and its cast of customers."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from actions.selectors import conversation_account_id
from conversations.models import Conversation, Event
from conversations.services import integration_create
from desk.demo import demo_cast, demo_store_seed
from escalation.models import Case
from tests.live import LiveServer
from tools.simulate import (
    CastMember,
    SimulationError,
    cast_load,
    cast_vars,
    run_simulation,
    scripts,
)
from tools.simulate.conversation import new_conversation

SCENARIOS = scripts().scenarios


def _member(**fields: object) -> dict[str, object]:
    def order(order_id: str, status: str, *items: tuple[str, float]) -> dict[str, object]:
        return {
            "order_id": order_id,
            "status": status,
            "created_at": "2026-11-20T10:00:00+00:00",
            "items": [{"name": n, "price": p, "category": "tent"} for n, p in items],
            "total": sum(p for _, p in items),
            "shipments": [{"carrier": "UPS", "tracking": "894822074607"}]
            if status != "pending"
            else [],
        }

    base: dict[str, object] = {
        "customer_id": "ella_rossi_1001",
        "first": "Ella",
        "last": "Rossi",
        "email": "ella.rossi1@example.com",
        "phone": "+1-453-555-3155",
        "orders": [
            order("#W1000001", "pending", ("Ultralight Bivy", 161.37)),
            order("#W1000002", "delivered", ("Basecamp 4P Tent", 414.42), ("Bivy Sack", 20.0)),
            order("#W1000003", "processed", ("Ridgeline 2P Tent", 300.0)),
        ],
        "subscriptions": [{"plan": "Gear Care plan", "price": 49.0, "renews_at": "2027-05-19"}],
    }
    base.update(fields)
    return base


def _cast_file(tmp_path: Path, content: object) -> str:
    path = tmp_path / "cast.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


@pytest.mark.parametrize(
    ("kind", "order_id"),
    [
        ("order_status", "#W1000003"),
        ("return", "#W1000002"),
        ("refund_over_limit", "#W1000002"),
        ("address_change", "#W1000001"),
    ],
)
def test_a_cast_member_holds_the_conversation_about_a_fitting_order(
    kind: str, order_id: str
) -> None:
    member = CastMember.model_validate(_member())

    found = cast_vars(random.Random(1), kind=kind, cast=[member])

    assert found["external_id"] == "ella_rossi_1001"
    assert found["email"] == "ella.rossi1@example.com"
    assert found["order"] == order_id
    order = next(o for o in member.orders if o.order_id == order_id)
    assert found["product"] in {item.name for item in order.items}
    assert found["big_price"] == max(item.price for item in order.items)


def test_a_bereavement_names_the_account_holder_but_is_written_by_someone_else() -> None:
    member = CastMember.model_validate(_member())

    found = cast_vars(random.Random(1), kind="bereavement", cast=[member])

    assert found["deceased_email"] == "ella.rossi1@example.com"
    assert found["deceased"] == "Ella"
    assert found["plan"] == "Gear Care plan"
    assert "external_id" not in found


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{not json", "not valid"),
        ([{"first": "Ella"}], "not valid at 0.customer_id"),
        ([_member(orders=[])], "has no customer with an order"),
        ({"customers": []}, "not valid"),
    ],
)
def test_a_bad_cast_file_is_refused_with_what_is_wrong(
    tmp_path: Path, content: object, message: str
) -> None:
    with pytest.raises(SimulationError, match=message):
        cast_load(_cast_file(tmp_path, content))


def test_a_missing_cast_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="cannot read the cast file"):
        cast_load(str(tmp_path / "nowhere.json"))


def test_the_demo_store_cast_is_what_the_simulator_reads(db: None, tmp_path: Path) -> None:
    demo_store_seed(customers=40, orders=150, seed=3)

    cast = cast_load(_cast_file(tmp_path, demo_cast(size=12)))

    assert len(cast) == 12
    from store.models import Order

    for member in cast:
        stored = {
            o.order_id: o for o in Order.objects.filter(customer__customer_id=member.customer_id)
        }
        assert {o.order_id for o in member.orders} == set(stored)
        for order in member.orders:
            assert order.status == stored[order.order_id].status
            assert sorted(i.name for i in order.items) == sorted(
                stored[order.order_id].items.values_list("name", flat=True)
            )


def test_a_refused_token_stops_the_simulator(live_asgi_server: LiveServer) -> None:
    with pytest.raises(SimulationError, match="refused"):
        run_simulation(
            url=f"{live_asgi_server.ws_url}/ws/ingest/v1/",
            token="btn_not-a-token",
            rate=50,
            conversations=1,
            write=lambda line: None,
        )


def test_the_simulator_streams_conversations_about_store_accounts(
    live_asgi_server: LiveServer, tmp_path: Path
) -> None:
    demo_store_seed(customers=40, orders=150, seed=3)
    cast = cast_load(_cast_file(tmp_path, demo_cast(size=20)))
    _, token = integration_create(name="simulator")
    lines: list[str] = []

    totals = run_simulation(
        url=f"{live_asgi_server.ws_url}/ws/ingest/v1/",
        token=token,
        rate=100,
        conversations=len(SCENARIOS),
        concurrency=6,
        seed=5,
        write=lines.append,
        cast=cast,
    )

    assert totals.unacked == 0
    # AI lines already on the wire when the desk takes a conversation over are refused.
    assert set(totals.errors) <= {"not_owner"}
    assert totals.conversations == len(SCENARIOS)
    assert totals.stored == Event.objects.count()
    assert totals.stored + totals.errors["not_owner"] == totals.events
    assert totals.controls, "some scripts end in a handoff or an escalation"
    conversations = list(Conversation.objects.select_related("customer"))
    assert len(conversations) == len(SCENARIOS)
    members = {member.customer_id for member in cast}
    for conversation in conversations:
        if conversation.customer.external_id in members:
            assert conversation_account_id(conversation=conversation) in members
    linked = [c for c in conversations if c.customer.external_id in members]
    assert len(linked) >= len(SCENARIOS) // 2


def test_a_refund_over_the_limit_is_about_an_order_that_cost_more_than_it() -> None:
    cheap = _member(
        customer_id="cheap_1",
        orders=[
            {
                "order_id": "#W2000001",
                "status": "delivered",
                "created_at": "2026-11-20T10:00:00+00:00",
                "items": [{"name": "Sock", "price": 12.0}],
                "total": 12.0,
            }
        ],
    )
    cast = [CastMember.model_validate(cheap), CastMember.model_validate(_member())]
    for seed in range(10):
        found = cast_vars(random.Random(seed), kind="refund_over_limit", cast=cast)
        assert found["amount"] > 100
        assert found["external_id"] == "ella_rossi_1001"


def test_made_up_conversations_are_about_products_the_demo_store_sells(db: None) -> None:
    demo_store_seed(customers=5, orders=5, seed=3)
    from store.models import Product

    sold = set(Product.objects.values_list("name", flat=True))
    rng = random.Random(2)
    for index in range(50):
        variables = new_conversation(conversation_id=f"c{index}", rng=rng).variables
        assert {variables["product"], variables["big_product"], variables["stove"]} <= sold


def test_the_simulator_is_a_wire_client_that_needs_no_django() -> None:
    probe = (
        "import sys, tools.simulate; "
        "sys.exit(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'conversations', 'store', 'actions', 'escalation', 'desk'}) or 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[2], check=False
    )
    assert done.returncode == 0


def test_the_token_comes_from_a_private_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.simulate.cli import TOKEN_ENV, token_resolve

    path = tmp_path / "token"
    path.write_text("btn_from-file\n")
    path.chmod(0o600)
    monkeypatch.setenv(TOKEN_ENV, "btn_from-env")

    assert token_resolve({"token_file": str(path)}) == "btn_from-file"
    assert token_resolve({}) == "btn_from-env"
    path.chmod(0o644)
    with pytest.raises(SimulationError, match="can be read by others: run chmod 600"):
        token_resolve({"token_file": str(path)})
    with pytest.raises(SimulationError, match="cannot read the token file"):
        token_resolve({"token_file": str(tmp_path / "nowhere")})
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(SimulationError, match="no token: give --token-file"):
        token_resolve({})


def test_a_quiet_simulation_writes_its_totals_and_not_every_conversation(
    live_asgi_server: LiveServer,
) -> None:
    _, token = integration_create(name="simulator")
    url = f"{live_asgi_server.ws_url}/ws/ingest/v1/"
    quiet: list[str] = []
    loud: list[str] = []

    run_simulation(
        url=url, token=token, rate=50, conversations=4, seed=2, write=quiet.append, verbose=False
    )
    run_simulation(url=url, token=token, rate=50, conversations=4, seed=2, write=loud.append)

    per_conversation = ("done ", "cut ", "control ", "agent ")
    assert not [line for line in quiet if line.startswith(per_conversation)]
    assert quiet[-4].startswith("conversations finished: 4")
    assert len([line for line in loud if line.startswith("done ")]) == 4


def test_the_warmup_hurries_until_a_conversation_goes_to_a_person_then_paces(
    live_asgi_server: LiveServer,
) -> None:
    _, token = integration_create(name="simulator")
    rate = 0.5

    totals = run_simulation(
        url=f"{live_asgi_server.ws_url}/ws/ingest/v1/",
        token=token,
        rate=rate,
        conversations=3,
        concurrency=1,
        # The first conversation (a refund over the AI's limit) goes to a person a few turns in.
        seed=0,
        write=lambda line: None,
        verbose=False,
        warmup=1,
    )

    first_case = Case.objects.order_by("queued_at").values_list("queued_at", flat=True)[0]
    arrivals = sorted(Event.objects.values_list("received_at", flat=True))
    before = [at for at in arrivals if at <= first_case]
    after = [at for at in arrivals if at > first_case]
    assert totals.sends == len(arrivals)
    assert len(before) >= 2 and len(after) >= 3
    # Warming up, events are a second apart, not 1/rate. The first one after the takeover was
    # already due; from then on they are 1/rate apart.
    assert all((b - a).total_seconds() < 1.6 for a, b in itertools.pairwise(before))
    assert all((b - a).total_seconds() > 0.9 / rate for a, b in itertools.pairwise(after))


def _surveyed(
    *, taken_by: str = "", wait: float | None = None, outcome: str = "resolved"
) -> list[list[dict]]:
    from tools.simulate.conversation import survey_steps

    rng = random.Random(4)
    answers = []
    for index in range(3000):
        conversation = new_conversation(conversation_id=f"s{index}", rng=rng)
        conversation.taken_by, conversation.human_wait = taken_by, wait
        answers.append(survey_steps(conversation, outcome=outcome, rng=rng))
    return answers


def test_about_a_third_answer_the_survey_for_the_parts_they_met() -> None:
    from conversations.schemas import FeedbackEvent, event_parse

    kept = _surveyed()
    assert 0.25 <= sum(1 for a in kept if a) / len(kept) <= 0.35
    assert {len(a) for a in kept if a} == {1}
    assert {step["part"] for a in kept for step in a} == {"ai", "overall"}
    escalated = _surveyed(taken_by="ai", wait=30)
    assert all({"ai", "human"} <= {step["part"] for step in a} for a in escalated if a)
    for n, step in enumerate(step for a in escalated for step in a):
        event = {"id": f"f{n}", "conversation": "c", "seq": 9, "at": "2026-12-04T10:00:00Z"}
        assert isinstance(event_parse(event | step), FeedbackEvent)

    def mean(answers: list, part: str) -> float:
        ratings = [s["rating"] for a in answers for s in a if s["part"] == part]
        return sum(ratings) / len(ratings)

    # What the customer lived through shows: a resolved chat rates above an abandoned one,
    # the AI part of an escalated one below its human part, a slow person below a quick one.
    assert mean(kept, "ai") > mean(_surveyed(outcome="abandoned"), "ai") + 1.5
    assert mean(escalated, "human") > mean(escalated, "ai") + 1
    assert mean(escalated, "human") > mean(_surveyed(taken_by="ai", wait=600), "human") + 0.4


def test_survey_answers_follow_the_close_on_the_wire(
    live_asgi_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tools.simulate.conversation

    monkeypatch.setattr(tools.simulate.conversation, "SURVEY_RESPONSE_RATE", 1.0)
    _, token = integration_create(name="simulator")
    totals = run_simulation(
        url=f"{live_asgi_server.ws_url}/ws/ingest/v1/",
        token=token,
        rate=100,
        conversations=8,
        concurrency=2,
        seed=3,
        write=lambda line: None,
    )
    assert totals.unacked == 0 and "conversation_closed" not in totals.errors
    closed = Conversation.objects.exclude(closed_at_seq=None)
    assert closed.exists()
    for conversation in closed:
        feedback = conversation.events.filter(type="feedback")
        assert feedback.exists()
        assert all(event.seq > conversation.closed_at_seq for event in feedback)
        assert all(1 <= event.payload["rating"] <= 5 for event in feedback)
