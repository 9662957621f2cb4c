"""One pass of the escalation engine over a conversation, shared by live conversations and
`manage.py analyze`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from escalation.analysis import (
    FRUSTRATION_KINDS,
    SENSITIVE_TOPICS,
    MessageFacts,
    StateFacts,
    Turn,
    conversation_messages,
    state_compute,
)
from escalation.entities import Entity, extract_entities
from escalation.linking import Link, link_account
from escalation.rules import RulesOutcome, RuleSpec, rules_evaluate

# Signal kinds worth naming as a reason on their own (the rest show up through rules).
REASON_KINDS = (
    *FRUSTRATION_KINDS,
    *SENSITIVE_TOPICS,
    "prompt_injection",
    "low_confidence",
    "policy_denied",
    "ai_loop",
)


@dataclass
class Analysis:
    messages: list[MessageFacts]
    state: StateFacts
    rules: RulesOutcome
    entities: list[Entity]
    link: Link

    @property
    def reasons(self) -> list[str]:
        kinds = [k for k in REASON_KINDS if self.state.counts.get(k)]
        return [*kinds, *(f"rule:{code}" for code in self.rules.codes)]


def entities_of(turns: Sequence[Turn]) -> list[Entity]:
    found: list[Entity] = []
    for index, turn in enumerate(turns):
        if turn.type == "message" and turn.text:
            entities = extract_entities(turn.text, turn=index)
            if turn.role == "agent":
                # "I'm Maya", "taking over from Leo": the desk's own people, not the case's.
                entities = [e for e in entities if e.type != "person_name"]
            found.extend(entities)
    return found


def engine_run(
    *,
    turns: Sequence[Turn],
    rules: Sequence[RuleSpec],
    messages: Sequence[MessageFacts] | None = None,
    external_id: str = "",
    email: str = "",
    name: str = "",
    link: bool = True,
) -> Analysis:
    """Read the conversation, apply the rules, extract entities and link the account.

    `messages` are per-event facts computed earlier (live conversations store them); without
    them they are computed here.
    """
    facts = list(messages) if messages is not None else conversation_messages(turns)
    state = state_compute(turns, facts)
    outcome = rules_evaluate(rules=rules, state=state)
    entities = entities_of(turns)
    linked = (
        link_account(
            # Entity turn numbers index `turns`, so non-messages stay in place, without text.
            turns=[(t.role, t.text if t.type == "message" else "") for t in turns],
            entities=entities,
            external_id=external_id,
            email=email,
            name=name,
        )
        if link
        else Link(customer_id=None, order_ids=[], method=None)
    )
    return Analysis(facts, state, outcome, entities, linked)


def analysis_as_dict(analysis: Analysis, *, conversation_id: str, summary: str) -> dict[str, Any]:
    """The line `manage.py analyze` writes for one conversation."""
    return {
        "id": conversation_id,
        "sentiment": analysis.state.sentiment,
        "risk": analysis.state.risk,
        "escalate": analysis.rules.escalate,
        "reasons": analysis.reasons,
        "topic": analysis.state.topic,
        "entities": [
            {"type": e.type, "value": e.value, "start": e.start, "end": e.end, "turn": e.turn}
            for e in analysis.entities
        ],
        "customer": analysis.link.customer_id,
        "orders": list(analysis.link.order_ids),
        "summary": summary,
    }
