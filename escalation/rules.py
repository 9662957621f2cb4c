"""Guardrail rules as data: a deterministic evaluator over the conversation state."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from escalation.analysis import FRUSTRATION_KINDS, SENSITIVE_TOPICS

if TYPE_CHECKING:
    from escalation.analysis import StateFacts

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda value, options: value in options,
}
ORDERING_OPS = (">=", ">", "<=", "<")
# What a clause may name: the state's own fields, and signal kinds (events they fired on).
STATE_FIELDS = ("risk", "sentiment", "trend", "topic", "customer_turns", "turns")
SIGNAL_FIELDS = (
    *FRUSTRATION_KINDS,
    *SENSITIVE_TOPICS,
    "prompt_injection",
    "low_confidence",
    "policy_denied",
    "ai_loop",
)
FIELDS = (*STATE_FIELDS, *SIGNAL_FIELDS)


class RuleError(ValueError):
    """A condition that cannot be evaluated; raised when a rule is saved, not when it runs."""


@dataclass(frozen=True)
class RuleSpec:
    code: str
    name: str
    condition: dict[str, Any]
    action: str = "escalate"
    priority: int = 50
    team: str = "general"
    ai_read_only: bool = False
    order: int = 100


@dataclass
class RulesOutcome:
    escalate: bool
    rule: RuleSpec | None
    fired: list[RuleSpec] = field(default_factory=list)
    ai_read_only: bool = False

    @property
    def codes(self) -> list[str]:
        return [rule.code for rule in self.fired]


def condition_validate(condition: Any) -> None:
    """Raise RuleError unless `condition` is a well-formed all/any tree of clauses."""
    if not isinstance(condition, dict):
        raise RuleError("A condition is an object.")
    if "all" in condition or "any" in condition:
        if len(condition) != 1:
            raise RuleError("A group is {'all': [...]} or {'any': [...]}, with nothing beside it.")
        (key,) = condition
        clauses = condition[key]
        if not isinstance(clauses, list) or not clauses:
            raise RuleError(f"'{key}' needs a non-empty list of clauses.")
        for clause in clauses:
            condition_validate(clause)
        return
    if set(condition) != {"field", "op", "value"}:
        raise RuleError("A clause has exactly 'field', 'op' and 'value'.")
    field, op, value = condition["field"], condition["op"], condition["value"]
    # An unknown field reads as 0 and a mistyped value never compares: the rule would save but
    # silently never (or always) fire.
    if field not in FIELDS:
        raise RuleError(f"Unknown field {field!r}; use one of {', '.join(FIELDS)}.")
    if op not in OPS:
        raise RuleError(f"Unknown op {op!r}; use one of {', '.join(OPS)}.")
    if op == "in" and not isinstance(value, list):
        raise RuleError("'in' takes a list.")
    if op in ORDERING_OPS and (
        field == "topic" or isinstance(value, bool) or not isinstance(value, int | float)
    ):
        raise RuleError(f"{op!r} compares a numeric field with a number.")


def condition_fields(condition: dict[str, Any]) -> set[str]:
    """The fields a (valid) condition reads."""
    if "all" in condition or "any" in condition:
        return set().union(*(condition_fields(c) for c in next(iter(condition.values()))))
    return {condition["field"]}


def condition_holds(condition: dict[str, Any], state: StateFacts) -> bool:
    if "all" in condition:
        return all(condition_holds(c, state) for c in condition["all"])
    if "any" in condition:
        return any(condition_holds(c, state) for c in condition["any"])
    value = state.field_value(condition["field"])
    try:
        return bool(OPS[condition["op"]](value, condition["value"]))
    except TypeError:
        return False


def rules_evaluate(*, rules: Sequence[RuleSpec], state: StateFacts) -> RulesOutcome:
    """Every rule whose condition holds fires. The case's rule is the escalating one with the
    highest priority (the lowest order among equals); its priority is the case's."""
    fired = [
        rule
        for rule in sorted(rules, key=lambda r: (r.order, r.code))
        if condition_holds(rule.condition, state)
    ]
    escalating = [rule for rule in fired if rule.action == "escalate"]
    lead = None
    if escalating:
        top = max(rule.priority for rule in escalating)
        lead = next(rule for rule in escalating if rule.priority == top)
    return RulesOutcome(
        escalate=lead is not None,
        rule=lead,
        fired=fired,
        ai_read_only=any(rule.ai_read_only for rule in fired),
    )


DEFAULT_RULES: list[RuleSpec] = [
    RuleSpec(
        code="customer-asks-for-person",
        name="The customer asks for a person",
        condition={"all": [{"field": "customer_requested_human", "op": ">=", "value": 1}]},
        priority=80,
        order=10,
    ),
    RuleSpec(
        code="prompt-injection",
        name="Prompt-injection attempt",
        condition={"all": [{"field": "prompt_injection", "op": ">=", "value": 1}]},
        priority=85,
        team="trust-and-safety",
        ai_read_only=True,
        order=20,
    ),
    RuleSpec(
        code="sensitive-topic",
        name="A sensitive topic goes to specialists",
        condition={
            "all": [
                {
                    "field": "topic",
                    "op": "in",
                    "value": list(SENSITIVE_TOPICS),
                }
            ]
        },
        priority=75,
        team="specialists",
        order=30,
    ),
    RuleSpec(
        code="action-denied",
        name="A consequential action was denied",
        condition={"all": [{"field": "policy_denied", "op": ">=", "value": 1}]},
        priority=65,
        order=40,
    ),
    RuleSpec(
        code="high-risk",
        name="Risk over the threshold",
        condition={"all": [{"field": "risk", "op": ">=", "value": 0.35}]},
        priority=60,
        order=50,
    ),
    RuleSpec(
        code="ai-unsure-twice",
        name="AI confidence below 0.4 twice",
        condition={"all": [{"field": "low_confidence", "op": ">=", "value": 2}]},
        priority=55,
        order=60,
    ),
    RuleSpec(
        code="ai-loop-twice",
        name="The AI repeated itself twice",
        condition={"all": [{"field": "ai_loop", "op": ">=", "value": 2}]},
        priority=55,
        order=70,
    ),
]
