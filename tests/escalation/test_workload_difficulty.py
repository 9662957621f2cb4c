"""Difficulty of a contact (escalation/workload/difficulty.py): each part pinned on hand-built
inputs, the combination, and the service that keeps Case.difficulty up to date as the case is
queued and as the customer writes during the human part."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conversations.models import Integration
from conversations.services import events_ingest
from escalation.cases.routing import case_pick
from escalation.models import Case, ConversationState, Rule
from escalation.workload.difficulty import (
    DIFFICULTY_WEIGHTS,
    DifficultyInputs,
    case_difficulty_refresh,
    difficulty_compute,
    saturate,
    state_inputs,
)
from tests.escalation.conftest import say
from tests.factories import (
    AgentProfileFactory,
    CaseFactory,
    ConversationFactory,
    CustomerFactory,
    PriorContactFactory,
)

# Each part alone, on inputs where every other part is zero: (inputs, that part's strength).
ONE_PART: dict[str, tuple[DifficultyInputs, float]] = {
    "risk": (DifficultyInputs(risk=0.8), 0.8),
    "aggression": (DifficultyInputs(counts={"profanity": 1}), 2 / 3),
    "threats": (DifficultyInputs(counts={"threat_chargeback": 1}), 2 / 3),
    "policy_denied": (DifficultyInputs(counts={"policy_denied": 1}), 0.5),
    "injection": (DifficultyInputs(counts={"prompt_injection": 1}), 1.0),
    "sensitive": (DifficultyInputs(topic="bereavement"), 1.0),
    "rule": (DifficultyInputs(rule_priority=80), 0.8),
    "ambiguity": (DifficultyInputs(counts={"repeated_question": 2}), 0.5),
    "sentiment_handoff": (DifficultyInputs(sentiment_handoff=-0.6), 0.6),
    "sentiment_human": (DifficultyInputs(sentiment_human=-0.7), 0.7),
    "prior_contacts": (DifficultyInputs(prior_contacts=2), 0.5),
    "length": (DifficultyInputs(customer_turns=10), 0.5),
}


def test_every_part_has_a_pinned_case() -> None:
    assert set(ONE_PART) == set(DIFFICULTY_WEIGHTS)


@pytest.mark.parametrize("name", sorted(ONE_PART))
def test_each_part_alone_adds_its_weight_times_its_strength(name: str) -> None:
    inputs, strength = ONE_PART[name]
    result = difficulty_compute(inputs)
    assert result.parts[name] == pytest.approx(strength, abs=1e-4)
    assert {k for k, v in result.parts.items() if v} == {name}
    assert result.value == pytest.approx(DIFFICULTY_WEIGHTS[name] * strength, abs=1e-4)


def test_nothing_known_is_an_easy_contact() -> None:
    assert difficulty_compute(DifficultyInputs()).value == 0.0


def test_parts_compound_as_a_noisy_or_and_stay_within_one() -> None:
    inputs = DifficultyInputs(
        risk=0.7,
        counts={"profanity": 1, "threat_cancel": 1},
        sentiment_handoff=-0.6,
        sentiment_human=-0.5,
        customer_turns=8,
    )
    result = difficulty_compute(inputs)
    remaining = 1.0
    for name, strength in result.parts.items():
        remaining *= 1 - DIFFICULTY_WEIGHTS[name] * strength
    assert result.value == pytest.approx(1 - remaining, abs=1e-4)
    assert result.value >= 0.6  # hard by the default policy
    worst = DifficultyInputs(
        risk=1.0,
        counts={k: 50 for k in ("profanity", "all_caps", "threat_legal", "policy_denied")}
        | {"prompt_injection": 3, "repeated_question": 40},
        topic="legal",
        rule_priority=100,
        sentiment_handoff=-1.0,
        sentiment_human=-1.0,
        prior_contacts=100,
        customer_turns=500,
    )
    assert 0.95 < difficulty_compute(worst).value <= 1.0


def test_threats_of_chargeback_or_legal_action_weigh_double() -> None:
    cancel = difficulty_compute(DifficultyInputs(counts={"threat_cancel": 1})).parts["threats"]
    legal = difficulty_compute(DifficultyInputs(counts={"threat_legal": 1})).parts["threats"]
    assert cancel == pytest.approx(saturate(1, 1), abs=1e-4)
    assert legal == pytest.approx(saturate(2, 1), abs=1e-4)


def test_caps_is_milder_aggression_than_profanity() -> None:
    caps = difficulty_compute(DifficultyInputs(counts={"all_caps": 1})).parts["aggression"]
    assert caps == pytest.approx(0.5)


def test_ai_trouble_is_ambiguity() -> None:
    parts = difficulty_compute(DifficultyInputs(counts={"low_confidence": 1, "ai_loop": 1})).parts
    assert parts["ambiguity"] == pytest.approx(0.5)


def test_a_sensitive_signal_counts_even_when_the_topic_is_another() -> None:
    parts = difficulty_compute(DifficultyInputs(topic="refund", counts={"fraud": 1})).parts
    assert parts["sensitive"] == 1.0


def test_positive_sentiment_is_not_a_stressor() -> None:
    parts = difficulty_compute(DifficultyInputs(sentiment_handoff=0.8, sentiment_human=0.5)).parts
    assert parts["sentiment_handoff"] == parts["sentiment_human"] == 0.0


def test_an_ai_only_conversation_has_no_rule_and_no_human_part() -> None:
    inputs = state_inputs(
        risk=0.2, counts={"profanity": 1}, topic="refund", sentiment=-0.4, customer_turns=3
    )
    assert inputs.rule_priority is None and inputs.sentiment_human is None
    assert inputs.sentiment_handoff == -0.4


# --- the service -------------------------------------------------------------------------------


def test_refresh_stores_the_value_and_its_parts(db: None) -> None:
    customer = CustomerFactory()
    conversation = ConversationFactory(owner="human", account_id=customer.customer_id)
    rule = Rule.objects.create(code="angry", name="Angry", condition={"all": []}, priority=70)
    case = CaseFactory(
        conversation=conversation,
        trigger=Case.Trigger.RULE,
        rule=rule,
        risk=0.5,
        topic="refund",
        sentiment=-0.4,
    )
    ConversationState.objects.create(
        conversation=conversation, counts={"profanity": 1}, customer_turns=5, topic="refund"
    )
    now = timezone.now()
    # Two of the store's contacts in the last 30 days count; an older one does not.
    PriorContactFactory(customer=customer, contacted_at=now - timedelta(days=3))
    PriorContactFactory(customer=customer, contacted_at=now - timedelta(days=29))
    PriorContactFactory(customer=customer, contacted_at=now - timedelta(days=40))

    value = case_difficulty_refresh(case_id=case.pk, now=now)

    case.refresh_from_db()
    assert case.difficulty == value
    stored = case.difficulty_parts
    assert stored["inputs"]["prior_contacts"] == 2
    assert stored["inputs"]["rule_priority"] == 70
    assert stored["inputs"]["sentiment_handoff"] == -0.4
    assert stored["inputs"]["customer_turns"] == 5
    assert stored["parts"]["aggression"] == pytest.approx(2 / 3, abs=1e-4)
    assert stored["parts"]["risk"] == 0.5
    assert stored["contributions"]["risk"] == pytest.approx(0.25)
    assert set(stored["parts"]) == set(DIFFICULTY_WEIGHTS)
    expected = difficulty_compute(
        DifficultyInputs(
            risk=0.5,
            counts={"profanity": 1},
            topic="refund",
            rule_priority=70,
            sentiment_handoff=-0.4,
            prior_contacts=2,
            customer_turns=5,
        )
    )
    assert value == expected.value


def test_earlier_cases_of_the_same_customer_are_prior_contacts(db: None) -> None:
    customer = CustomerFactory()
    earlier = CaseFactory(
        conversation=ConversationFactory(owner="human", account_id=customer.customer_id),
        status=Case.Status.RESOLVED,
    )
    case = CaseFactory(
        conversation=ConversationFactory(owner="human", account_id=customer.customer_id)
    )
    assert earlier.pk < case.pk
    case_difficulty_refresh(case_id=case.pk)
    case.refresh_from_db()
    assert case.difficulty_parts["inputs"]["prior_contacts"] == 1


@pytest.fixture
def bot(integration: tuple[Integration, str], rules: list[Rule]) -> Integration:
    return integration[0]


def test_a_case_is_scored_when_queued_and_again_when_the_customer_writes(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(
            integration=bot,
            raw_events=[say("wl1", 1, "Where is my parcel? Let me talk to a real person please.")],
        )
    case = Case.objects.get(conversation__external_id="wl1")
    assert case.status == Case.Status.QUEUED
    queued_d = case.difficulty
    assert queued_d > 0 and case.difficulty_parts["parts"]["sentiment_human"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        case_pick(case_id=case.pk, user=maya)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(
            integration=bot,
            raw_events=[
                say("wl1", 3, "This is a DISGRACE. You people are useless, awful and incompetent!")
            ],
        )
    case.refresh_from_db()
    assert case.difficulty_parts["parts"]["sentiment_human"] > 0.3
    assert case.difficulty > queued_d
    # The turn is counted for maya, who held the case; the one before she took it is not.
    (hours,) = [v["hours"] for v in case.difficulty_parts["human"].values()]
    assert list(case.difficulty_parts["human"]) == [str(maya.pk)]
    assert list(hours.values()) == [[1, 1]]
