"""The conversation state and its risk score, folded from per-message facts. Pure functions; no
database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from escalation.analysis import (
    LOW_CONFIDENCE,
    RISK_WEIGHTS,
    SENTIMENT_HALF_LIFE,
    TREND_WINDOW,
    MessageFacts,
    StateFacts,
    Turn,
    conversation_messages,
    message_analyze,
    risk_features,
    risk_score,
    state_compute,
)

LOOPING = "I'm sorry, I could not find any tracking information for that order right now."


def customer(text: str, seq: int = 0) -> Turn:
    return Turn(role="customer", text=text, seq=seq)


def ai(text: str, seq: int = 0) -> Turn:
    return Turn(role="ai", text=text, seq=seq)


def numbered(turns: Sequence[Turn]) -> list[Turn]:
    for seq, turn in enumerate(turns, start=1):
        turn.seq = seq
    return list(turns)


def analyse(turns: Sequence[Turn]) -> StateFacts:
    turns = numbered(turns)
    return state_compute(turns, conversation_messages(turns))


def with_sentiments(values: Sequence[float]) -> StateFacts:
    """A state whose customer messages have exactly these sentiments, in order."""
    turns = [customer(f"message {n}", seq=n) for n in range(len(values))]
    facts = [MessageFacts(n, "customer", v, [], []) for n, v in enumerate(values)]
    return state_compute(turns, facts)


# --- sentiment now, weighted by recency ------------------------------------------------------


def test_current_sentiment_is_a_recency_weighted_mean() -> None:
    values = [-0.9, 0.1, 0.6]
    weights = [0.5 ** ((len(values) - 1 - i) / SENTIMENT_HALF_LIFE) for i in range(3)]
    expected = sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)
    assert with_sentiments(values).sentiment == pytest.approx(expected, abs=1e-4)


def test_the_latest_message_weighs_most() -> None:
    assert with_sentiments([-0.8, 0.8]).sentiment > 0
    assert with_sentiments([0.8, -0.8]).sentiment < 0
    # Far more than a plain mean would say.
    assert with_sentiments([-0.9, -0.9, -0.9, 0.9]).sentiment > -0.9 * 3 / 4 + 0.9 / 4


def test_no_customer_message_is_neutral() -> None:
    state = analyse([ai("Hello! How can I help you today?")])
    assert state.sentiment == 0.0
    assert state.trajectory == []
    assert state.trend == 0.0
    assert state.customer_turns == 0


def test_the_trajectory_is_every_customer_sentiment_in_order() -> None:
    state = analyse(
        [
            customer("Thanks, this is great, I love it!"),
            ai("Glad to hear it."),
            customer("Actually this is terrible and I am furious."),
        ]
    )
    assert len(state.trajectory) == 2 == state.customer_turns
    assert state.trajectory[0] > 0.5 > -0.5 > state.trajectory[1]
    assert state.turns == 3


# --- trend -----------------------------------------------------------------------------------


def test_trend_is_the_slope_over_the_last_messages() -> None:
    assert with_sentiments([0.5, 0.2, -0.1, -0.4]).trend == pytest.approx(-0.3)
    assert with_sentiments([-0.6, -0.3, 0.0]).trend == pytest.approx(0.3)
    assert with_sentiments([0.2, 0.2, 0.2]).trend == 0.0
    assert with_sentiments([0.4]).trend == 0.0


def test_trend_forgets_messages_before_its_window() -> None:
    early_fall = [0.9, -0.9] + [0.0] * TREND_WINDOW
    assert with_sentiments(early_fall).trend == 0.0


# --- counts: the signals the rules read ------------------------------------------------------


def test_counts_are_events_a_kind_fired_on() -> None:
    state = analyse(
        [
            customer("Let me talk to a real person. A human, please, a real person!"),
            ai("Of course."),
            customer("I want to speak to a manager."),
        ]
    )
    # Several spans in one message count once; two messages count twice.
    assert state.counts["customer_requested_human"] == 2


def test_low_confidence_counts_signals_under_the_threshold() -> None:
    turns = [
        customer("Can I use this jacket in heavy rain?"),
        Turn(role="ai", type="ai_signal", confidence=0.3),
        Turn(role="ai", type="ai_signal", confidence=LOW_CONFIDENCE),  # at the line: not low
        Turn(role="ai", type="ai_signal", confidence=None),
        Turn(role="ai", type="ai_signal", confidence=0.9),
    ]
    assert analyse(turns).counts.get("low_confidence") == 1
    twice = [*turns, Turn(role="ai", type="ai_signal", confidence=0.1)]
    assert analyse(twice).counts["low_confidence"] == 2


def test_a_denied_tool_call_is_a_policy_denial_and_others_are_not() -> None:
    turns = [
        customer("Please refund my order."),
        Turn(role="ai", type="tool_call", tool="get_order_details", tool_status="ok"),
        Turn(role="ai", type="tool_call", tool="cancel_pending_order", tool_status="error"),
        Turn(
            role="ai",
            type="tool_call",
            tool="refund_payment",
            tool_status="denied",
            tool_args={"order_id": "#W1234567", "amount": "20"},
        ),
    ]
    messages = conversation_messages(numbered(turns))
    assert [m.kinds for m in messages] == [[], [], [], ["policy_denied"]]
    assert messages[3].facts == {"tool": "refund_payment", "args": turns[3].tool_args}
    assert analyse(turns).counts == {"policy_denied": 1}


def test_an_ai_message_repeating_an_earlier_one_is_a_loop() -> None:
    once = [customer("Where is my order?"), ai(LOOPING), customer("Hello??"), ai(LOOPING)]
    assert analyse(once).counts.get("ai_loop") == 1
    twice = [*once, customer("Are you a bot?"), ai(LOOPING)]
    assert analyse(twice).counts["ai_loop"] == 2
    different = [
        customer("Where is my order?"),
        ai(LOOPING),
        customer("It is #W1234567."),
        ai("Order #W1234567 shipped yesterday with UPS and should arrive on Friday afternoon."),
    ]
    assert "ai_loop" not in analyse(different).counts


def test_a_customer_repeating_themselves_is_a_repeated_question() -> None:
    question = "Where is my package? It was supposed to arrive on Monday."
    state = analyse([customer(question), ai("Let me check."), customer(question)])
    assert state.counts.get("repeated_question") == 1


def test_message_facts_carry_the_evidence_spans() -> None:
    text = "This is useless. Let me talk to a real person."
    facts = message_analyze(customer(text, seq=4), earlier_customer_texts=[], earlier_ai_texts=[])
    assert facts.seq == 4 and facts.role == "customer"
    assert "customer_requested_human" in facts.kinds
    span = next(s for s in facts.spans if s["kind"] == "customer_requested_human")
    assert text[span["start"] : span["end"]] == span["text"] == "talk to a real person"


def test_non_message_events_carry_no_sentiment() -> None:
    for turn in (
        Turn(role="ai", type="ai_signal", confidence=0.2),
        Turn(role="ai", type="tool_call", tool="x", tool_status="denied"),
        Turn(role="", type="handoff"),
        ai("I am sorry, that is terrible news."),
    ):
        facts = message_analyze(turn, earlier_customer_texts=[], earlier_ai_texts=[])
        assert facts.sentiment is None


# --- topic -----------------------------------------------------------------------------------


def test_a_sensitive_topic_wins_over_the_platform_topic_and_keywords() -> None:
    turns = [
        customer("My husband passed away last month and I need to cancel his subscription."),
        Turn(role="ai", type="ai_signal", topic="cancellation"),
    ]
    assert analyse(turns).topic == "bereavement"


def test_the_platform_topic_wins_over_keywords() -> None:
    turns = [
        customer("I want to return these shoes."),
        Turn(role="ai", type="ai_signal", topic="exchange"),
    ]
    assert analyse(turns).topic == "exchange"


def test_without_either_the_topic_comes_from_keywords() -> None:
    assert analyse([customer("I want to return these shoes, they don't fit.")]).topic == "return"
    assert analyse([customer("Hello there.")]).topic == "other"


# --- risk ------------------------------------------------------------------------------------


def features(**overrides: Any) -> dict[str, float]:
    values: dict[str, Any] = {
        "trajectory": [0.0, 0.0],
        "counts": {},
        "customer_turns": 2,
        "topic": "shipping",
        "messages": [],
        "last_role": "ai",
    }
    values.update(overrides)
    return risk_features(**values)


def risk(**overrides: Any) -> float:
    return risk_score(features(**overrides))


def test_risk_is_a_probability() -> None:
    assert 0.0 < risk() < 1.0
    extreme = {kind: 50 for kind in ("profanity", "all_caps", "threat_legal", "policy_denied")}
    assert 0.0 < risk(trajectory=[-1.0] * 40, counts=extreme, customer_turns=40) < 1.0


def test_every_weight_has_a_feature_and_none_lowers_risk() -> None:
    assert set(RISK_WEIGHTS) - {"bias"} == set(features())
    assert all(weight >= 0 for name, weight in RISK_WEIGHTS.items() if name != "bias")


def test_risk_rises_as_sentiment_falls() -> None:
    scores = [risk(trajectory=[v, v]) for v in (0.8, 0.0, -0.4, -0.9)]
    assert scores == sorted(scores)
    assert scores[-1] > scores[0]


def test_risk_rises_with_frustration_and_threats() -> None:
    calm = risk()
    asked = risk(counts={"customer_requested_human": 1})
    angrier = risk(counts={"customer_requested_human": 1, "profanity": 2, "all_caps": 1})
    threat = risk(
        counts={"customer_requested_human": 1, "profanity": 2, "all_caps": 1, "threat_legal": 1}
    )
    assert calm < asked < angrier < threat


def test_risk_rises_with_a_sensitive_topic_ai_trouble_and_length() -> None:
    assert risk(topic="legal") > risk(topic="shipping")
    assert risk(counts={"policy_denied": 1, "low_confidence": 2}) > risk()
    assert risk(customer_turns=12, trajectory=[0.0] * 12) > risk()


def test_risk_rises_when_things_get_worse_and_the_customer_has_the_last_word() -> None:
    assert risk(trajectory=[0.0, 0.0, -0.1, -0.2, -0.3]) > risk(
        trajectory=[-0.3, -0.2, -0.1, 0.0, 0.0]
    )
    assert risk(last_role="customer") > risk(last_role="ai")


def test_an_angry_conversation_outscores_a_pleasant_one_end_to_end() -> None:
    pleasant = analyse(
        [
            customer("Hi! Could you tell me when my order ships?"),
            ai("Sure, it ships tomorrow."),
            customer("Great, thank you so much!"),
        ]
    )
    angry = analyse(
        [
            customer("Where is my order?? It's been three weeks and nobody answers."),
            ai("I'm sorry for the delay. Let me check."),
            customer("I already told you the order number TWICE. This is ridiculous!"),
            ai("I'm sorry, I could not find that order."),
            customer("Unacceptable. I'm going to dispute the charge with my bank."),
        ]
    )
    assert angry.risk > 3 * pleasant.risk


def test_a_bereaved_customer_never_reads_positive() -> None:
    text = "My husband passed away last week. Thank you so much for closing his account."
    facts = message_analyze(customer(text), earlier_customer_texts=[], earlier_ai_texts=[])
    assert "bereavement" in facts.kinds
    assert facts.sentiment is not None and facts.sentiment < 0


def test_shouting_for_a_person_after_a_complaint_does_not_read_neutral() -> None:
    from escalation.packets import feeling_label

    turns = numbered(
        [
            customer("Are you even a real person?? This is the WORST customer service ever."),
            ai("I'm sorry it's been frustrating. What's going on with your order?"),
            customer("HUMAN. PLEASE."),
        ]
    )
    state = state_compute(turns, conversation_messages(turns))
    assert state.sentiment <= -0.15
    assert not feeling_label(state).startswith(("neutral", "positive"))
