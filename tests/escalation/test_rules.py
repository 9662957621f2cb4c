"""Guardrail rules as data: condition validation, evaluation and the choice of the case's rule.
Pure functions over a StateFacts; no database."""

from __future__ import annotations

from typing import Any

import pytest

from escalation.analysis import StateFacts
from escalation.rules import (
    DEFAULT_RULES,
    FIELDS,
    RuleError,
    RuleSpec,
    condition_fields,
    condition_holds,
    condition_validate,
    rules_evaluate,
)


def state(**overrides: Any) -> StateFacts:
    counts = overrides.pop("counts", {})
    values: dict[str, Any] = {
        "sentiment": 0.0,
        "trajectory": [0.0],
        "trend": 0.0,
        "risk": 0.1,
        "topic": "shipping",
        "counts": counts,
        "customer_turns": 1,
        "turns": 2,
    }
    values.update(overrides)
    return StateFacts(**values)


def clause(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def rule(code: str, condition: dict[str, Any], **fields: Any) -> RuleSpec:
    return RuleSpec(code=code, name=code, condition=condition, **fields)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ([clause("risk", ">=", 0.5)], "is an object"),
        ("risk >= 0.5", "is an object"),
        ({"all": []}, "non-empty list"),
        ({"any": clause("risk", ">=", 0.5)}, "non-empty list"),
        ({"all": [clause("risk", ">=", 0.5)], "any": [clause("turns", ">", 3)]}, "nothing beside"),
        ({"all": [clause("risk", ">=", 0.5)], "note": "x"}, "nothing beside"),
        ({"field": "risk", "op": ">="}, "exactly 'field', 'op' and 'value'"),
        ({**clause("risk", ">=", 0.5), "extra": 1}, "exactly 'field', 'op' and 'value'"),
        (clause("risc", ">=", 0.5), "Unknown field 'risc'"),
        (clause("risk", "=>", 0.5), "Unknown op '=>'"),
        (clause("topic", "in", "legal"), "'in' takes a list"),
        (clause("risk", ">=", "0.5"), "compares a numeric field with a number"),
        (clause("risk", ">", True), "compares a numeric field with a number"),
        (clause("topic", ">=", 1), "compares a numeric field with a number"),
        ({"all": [clause("risk", ">=", 0.5), {"any": [clause("nope", "==", 1)]}]}, "nope"),
    ],
)
def test_a_malformed_condition_is_refused_with_a_reason(condition: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        condition_validate(condition)


@pytest.mark.parametrize(
    "condition",
    [
        clause("risk", ">=", 0.5),
        {"all": [clause("customer_requested_human", ">=", 1)]},
        {"any": [clause("topic", "in", ["legal", "fraud"]), clause("turns", ">", 20)]},
        {"all": [clause("topic", "==", "refund"), {"any": [clause("profanity", ">=", 1)]}]},
        clause("sentiment", "<", -0.5),
    ],
)
def test_a_well_formed_condition_passes(condition: dict[str, Any]) -> None:
    condition_validate(condition)


def test_every_default_rule_is_valid_and_reads_known_fields() -> None:
    for spec in DEFAULT_RULES:
        condition_validate(spec.condition)
        assert condition_fields(spec.condition) <= set(FIELDS)
    assert len({spec.code for spec in DEFAULT_RULES}) == len(DEFAULT_RULES)


def test_condition_fields_walks_nested_groups() -> None:
    condition = {
        "all": [
            clause("risk", ">=", 0.5),
            {"any": [clause("topic", "==", "x"), clause("turns", ">", 3)]},
        ]
    }
    assert condition_fields(condition) == {"risk", "topic", "turns"}


# --- each op ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "holds"),
    [
        (">=", 0.5, True),
        (">=", 0.51, False),
        (">", 0.49, True),
        (">", 0.5, False),
        ("<=", 0.5, True),
        ("<=", 0.49, False),
        ("<", 0.51, True),
        ("<", 0.5, False),
        ("==", 0.5, True),
        ("==", 0.4, False),
        ("!=", 0.4, True),
        ("!=", 0.5, False),
    ],
)
def test_each_comparison_op(op: str, value: float, holds: bool) -> None:
    assert condition_holds(clause("risk", op, value), state(risk=0.5)) is holds


def test_in_matches_the_topic_against_a_list() -> None:
    assert condition_holds(clause("topic", "in", ["legal", "fraud"]), state(topic="fraud"))
    assert not condition_holds(clause("topic", "in", ["legal", "fraud"]), state(topic="refund"))


def test_a_signal_field_counts_the_events_it_fired_on_and_is_zero_when_absent() -> None:
    condition = clause("low_confidence", ">=", 2)
    assert not condition_holds(condition, state(counts={}))
    assert not condition_holds(condition, state(counts={"low_confidence": 1}))
    assert condition_holds(condition, state(counts={"low_confidence": 2}))
    assert condition_holds(clause("profanity", "==", 0), state(counts={}))


def test_a_comparison_of_mismatched_types_is_false_not_an_error() -> None:
    # A rule saved before validation tightened must not break the engine.
    assert condition_holds(clause("topic", ">=", 1), state()) is False


# --- nested all / any ------------------------------------------------------------------------


def test_all_needs_every_clause_and_any_needs_one() -> None:
    both = {"all": [clause("risk", ">=", 0.5), clause("turns", ">=", 10)]}
    either = {"any": [clause("risk", ">=", 0.5), clause("turns", ">=", 10)]}
    assert not condition_holds(both, state(risk=0.6, turns=3))
    assert condition_holds(both, state(risk=0.6, turns=12))
    assert condition_holds(either, state(risk=0.6, turns=3))
    assert condition_holds(either, state(risk=0.1, turns=12))
    assert not condition_holds(either, state(risk=0.1, turns=3))


def test_groups_nest() -> None:
    # An upset customer on a money topic, or anyone who swore twice.
    condition = {
        "any": [
            {
                "all": [
                    clause("sentiment", "<=", -0.4),
                    clause("topic", "in", ["refund", "billing"]),
                ]
            },
            {"all": [clause("profanity", ">=", 2)]},
        ]
    }
    condition_validate(condition)
    assert condition_holds(condition, state(sentiment=-0.6, topic="refund"))
    assert not condition_holds(condition, state(sentiment=-0.6, topic="shipping"))
    assert not condition_holds(condition, state(sentiment=-0.1, topic="refund"))
    assert condition_holds(condition, state(topic="shipping", counts={"profanity": 2}))


# --- outcome: lead rule, priority, flags, read-only -----------------------------------------


def test_no_rule_fires_on_a_calm_conversation() -> None:
    outcome = rules_evaluate(rules=DEFAULT_RULES, state=state())
    assert not outcome.escalate
    assert outcome.rule is None
    assert outcome.fired == []
    assert not outcome.ai_read_only


def test_the_lead_is_the_highest_priority_escalating_rule() -> None:
    rules = [
        rule("early-low", clause("risk", ">=", 0.1), priority=40, order=1),
        rule("late-high", clause("risk", ">=", 0.1), priority=90, order=99),
        rule("middle", clause("risk", ">=", 0.1), priority=60, order=50),
    ]
    outcome = rules_evaluate(rules=rules, state=state(risk=0.5))
    assert outcome.escalate
    assert outcome.rule is not None and outcome.rule.code == "late-high"
    assert outcome.codes == ["early-low", "middle", "late-high"]  # by order


def test_equal_priorities_go_to_the_lower_order_then_the_code() -> None:
    rules = [
        rule("b-second", clause("risk", ">=", 0.1), priority=70, order=20),
        rule("z-first", clause("risk", ">=", 0.1), priority=70, order=10),
        rule("a-first", clause("risk", ">=", 0.1), priority=70, order=10),
    ]
    for ordering in (rules, list(reversed(rules))):
        outcome = rules_evaluate(rules=ordering, state=state(risk=0.5))
        assert outcome.rule is not None and outcome.rule.code == "a-first"
        assert outcome.codes == ["a-first", "z-first", "b-second"]


def test_a_flag_only_rule_fires_without_escalating() -> None:
    flag = rule("watch-swearing", clause("profanity", ">=", 1), action="flag", priority=99)
    outcome = rules_evaluate(rules=[flag], state=state(counts={"profanity": 1}))
    assert not outcome.escalate
    assert outcome.rule is None
    assert outcome.codes == ["watch-swearing"]


def test_a_flag_rule_never_leads_even_at_a_higher_priority() -> None:
    flag = rule("watch", clause("risk", ">=", 0.1), action="flag", priority=99, order=1)
    escalate = rule("act", clause("risk", ">=", 0.1), priority=10, order=2)
    outcome = rules_evaluate(rules=[flag, escalate], state=state(risk=0.5))
    assert outcome.escalate
    assert outcome.rule is not None and outcome.rule.code == "act"
    assert outcome.codes == ["watch", "act"]


def test_ai_read_only_comes_from_any_fired_rule_flag_or_not() -> None:
    lock = rule("lock", clause("prompt_injection", ">=", 1), action="flag", ai_read_only=True)
    other = rule("other", clause("risk", ">=", 0.9))
    assert rules_evaluate(
        rules=[lock, other], state=state(counts={"prompt_injection": 1})
    ).ai_read_only
    assert not rules_evaluate(rules=[lock, other], state=state(risk=0.95)).ai_read_only


def test_evaluation_is_deterministic_whatever_the_input_order() -> None:
    hot = state(
        risk=0.9,
        topic="legal",
        counts={"customer_requested_human": 1, "prompt_injection": 1, "policy_denied": 1},
    )
    first = rules_evaluate(rules=DEFAULT_RULES, state=hot)
    again = rules_evaluate(rules=list(reversed(DEFAULT_RULES)), state=hot)
    assert first.codes == again.codes
    assert first.rule == again.rule


@pytest.mark.parametrize(
    ("facts", "lead", "team"),
    [
        ({"counts": {"customer_requested_human": 1}}, "customer-asks-for-person", "general"),
        ({"counts": {"prompt_injection": 1}}, "prompt-injection", "trust-and-safety"),
        ({"topic": "bereavement"}, "sensitive-topic", "specialists"),
        ({"counts": {"policy_denied": 1}}, "action-denied", "general"),
        ({"risk": 0.5}, "high-risk", "general"),
        ({"counts": {"low_confidence": 2}}, "ai-unsure-twice", "general"),
        ({"counts": {"ai_loop": 2}}, "ai-loop-twice", "general"),
    ],
)
def test_each_default_rule_escalates_on_its_own(
    facts: dict[str, Any], lead: str, team: str
) -> None:
    outcome = rules_evaluate(rules=DEFAULT_RULES, state=state(**facts))
    assert outcome.escalate
    assert outcome.rule is not None
    assert (outcome.rule.code, outcome.rule.team) == (lead, team)
    assert outcome.codes == [lead]


def test_defaults_do_not_fire_on_one_low_confidence_or_one_loop() -> None:
    once = state(counts={"low_confidence": 1, "ai_loop": 1})
    assert not rules_evaluate(rules=DEFAULT_RULES, state=once).escalate


def test_injection_outranks_a_request_for_a_person_and_drops_the_ai_to_read_only() -> None:
    both = state(counts={"customer_requested_human": 1, "prompt_injection": 1})
    outcome = rules_evaluate(rules=DEFAULT_RULES, state=both)
    assert outcome.rule is not None and outcome.rule.code == "prompt-injection"
    assert outcome.ai_read_only
    assert set(outcome.codes) == {"customer-asks-for-person", "prompt-injection"}
