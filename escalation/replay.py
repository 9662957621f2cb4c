"""Guardrail replay: what a set of rules (the enabled ones, one of them, or a draft not saved
yet) would have done to the conversations stored since a point in time, beside what did happen.

It reads only. Each conversation goes through the engine as it did live: turns rebuilt from its
events by `event_turn`, the per-event facts stored when it was analysed (computed afresh for
events never analysed), and the policy layer's denials. The rules are evaluated after every
event, as if each had arrived alone, since live analysis acts the moment a condition first holds
and the state can move back below a threshold afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conversations.models import Conversation, Event
from escalation.analysis import MessageFacts, message_analyze, state_compute
from escalation.models import Case, MessageAnalysis, Rule, Signal
from escalation.rules import RuleError, RuleSpec, condition_validate, rules_evaluate
from escalation.services import event_turn, rule_spec, rules_active

BATCH = 200
EXAMPLES = 5
DRAFT_CODE = "draft"


@dataclass
class RuleReplay:
    code: str
    name: str
    action: str
    # Conversations where the condition held at some point: escalated, or flagged for a flag rule.
    fired: int = 0
    # Conversations whose case this rule would have opened (the lead when the first rule fired).
    lead: int = 0
    # Conversations that do have a case opened by this rule.
    actual: int = 0
    # Conversations where it fired that have no case at all: what it would add.
    new: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReplayExample:
    """One conversation the replay decided differently from what happened, to open."""

    conversation_id: int
    external_id: str
    # The case these rules did open (a conversation that would no longer escalate), if any.
    case_id: int | None = None


@dataclass
class ReplayReport:
    since: datetime
    conversations: int
    rules: list[RuleReplay]
    # Conversations some escalating rule would have handed to humans.
    would_escalate: int = 0
    # Conversations some flag-only rule would have flagged.
    would_flag: int = 0
    # Conversations that do have a case, for any reason (rules or the AI's own handoff).
    actual_cases: int = 0
    # Conversations with a case opened by one of these rules.
    actual_by_these_rules: int = 0
    # Would have escalated, but have no case.
    new: int = 0
    # Have a case opened by one of these rules, but would no longer escalate.
    dropped: int = 0
    # Up to EXAMPLES of each of the two differences above.
    new_examples: list[ReplayExample] = field(default_factory=list)
    dropped_examples: list[ReplayExample] = field(default_factory=list)


def rules_for_replay(
    *, code: str | None = None, condition: Any = None, action: str = Rule.Action.ESCALATE
) -> list[RuleSpec]:
    """The rules to replay: every enabled rule; or the saved rule `code` (enabled or not); with
    `condition`, that rule with the condition instead of its own, or, without `code`, a draft
    rule of `action`. Raises RuleError for an unknown code or a malformed condition."""
    if condition is not None:
        condition_validate(condition)
    if action not in Rule.Action.values:
        raise RuleError(f"Unknown action {action!r}; use one of {', '.join(Rule.Action.values)}.")
    if code is None:
        if condition is None:
            return rules_active()
        return [RuleSpec(code=DRAFT_CODE, name="Draft rule", condition=condition, action=action)]
    row = Rule.objects.filter(code=code).first()
    if row is None:
        raise RuleError(f"No rule {code!r}.")
    if condition is None:
        try:
            condition_validate(row.condition)
        except RuleError as exc:
            raise RuleError(f"Rule {code!r} has a malformed condition: {exc}") from None
    return [rule_spec(row, condition=condition)]


def _batches(since: datetime) -> Iterator[list[tuple[int, str]]]:
    rows = (
        Conversation.objects.filter(updated_at__gte=since)
        .order_by("pk")
        .values_list("pk", "external_id")
    )
    batch: list[tuple[int, str]] = []
    for row in rows.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _facts(events: Sequence[Event], stored: dict[int, MessageAnalysis]) -> list[MessageFacts]:
    """The facts of every event: as analysed live when stored, else as the engine reads it now."""
    customer_texts: list[str] = []
    ai_texts: list[str] = []
    facts = []
    for event in events:
        turn = event_turn(event)
        row = stored.get(event.pk)
        if row is not None:
            facts.append(MessageFacts(row.seq, row.role, row.sentiment, row.kinds, [], row.facts))
        else:
            facts.append(
                message_analyze(
                    turn, earlier_customer_texts=customer_texts, earlier_ai_texts=ai_texts
                )
            )
        if turn.type == "message" and turn.role == "customer":
            customer_texts.append(turn.text)
        elif turn.type == "message" and turn.role == "ai":
            ai_texts.append(turn.text)
    return facts


def _conversation_replay(
    *,
    events: Sequence[Event],
    stored: dict[int, MessageAnalysis],
    outside: Sequence[tuple[datetime, str]],
    rules: Sequence[RuleSpec],
) -> tuple[set[str], str | None]:
    """The codes of the rules that fired at some point, and the lead of the first escalation."""
    turns = [event_turn(e) for e in events]
    facts = _facts(events, stored)
    fired: set[str] = set()
    lead: str | None = None
    for end in range(1, len(events) + 1):
        # A denial the policy layer reported counts from the first event received after it.
        seen = (
            outside
            if end == len(events)
            else [(at, kind) for at, kind in outside if at <= events[end - 1].received_at]
        )
        messages = facts[:end]
        if seen:
            messages = [*messages, MessageFacts(0, "ai", None, [kind for _, kind in seen], [])]
        outcome = rules_evaluate(rules=rules, state=state_compute(turns[:end], messages))
        fired.update(outcome.codes)
        if lead is None and outcome.rule is not None:
            lead = outcome.rule.code
    return fired, lead


def rules_replay(*, since: datetime, rules: Sequence[RuleSpec]) -> ReplayReport:
    """Replay `rules` over the conversations updated since `since`. Costs one query for the
    conversations and four for each batch of BATCH of them."""
    rows = {rule.code: RuleReplay(rule.code, rule.name, rule.action) for rule in rules}
    escalating = {rule.code for rule in rules if rule.action == Rule.Action.ESCALATE}
    report = ReplayReport(since=since, conversations=0, rules=list(rows.values()))
    for batch in _batches(since):
        ids = [pk for pk, _ in batch]
        events: dict[int, list[Event]] = defaultdict(list)
        for event in Event.objects.filter(conversation_id__in=ids).order_by(
            "conversation_id", "seq", "id"
        ):
            events[event.conversation_id].append(event)
        stored = {a.event_id: a for a in MessageAnalysis.objects.filter(conversation_id__in=ids)}
        outside: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        for conversation_id, at, kind in (
            Signal.objects.filter(conversation_id__in=ids, event__isnull=True)
            .order_by("created_at", "id")
            .values_list("conversation_id", "created_at", "kind")
        ):
            outside[conversation_id].append((at, kind))
        cases: dict[int, set[str | None]] = defaultdict(set)
        case_of: dict[tuple[int, str | None], int] = {}
        for conversation_id, code, case_id in (
            Case.objects.filter(conversation_id__in=ids)
            .order_by("pk")
            .values_list("conversation_id", "rule__code", "pk")
        ):
            cases[conversation_id].add(code)
            case_of.setdefault((conversation_id, code), case_id)

        for pk, external_id in batch:
            if not events[pk]:
                continue
            report.conversations += 1
            fired, lead = _conversation_replay(
                events=events[pk], stored=stored, outside=outside[pk], rules=rules
            )
            had_case = pk in cases
            by_these = {code for code in cases[pk] if code in rows}
            for code in fired:
                row = rows[code]
                row.fired += 1
                if not had_case:
                    row.new += 1
                if len(row.examples) < EXAMPLES:
                    row.examples.append(external_id)
            for code in by_these:
                rows[code].actual += 1
            if lead is not None:
                rows[lead].lead += 1
            escalates = bool(fired & escalating)
            report.would_escalate += escalates
            report.would_flag += bool(fired - escalating)
            report.actual_cases += had_case
            report.actual_by_these_rules += bool(by_these)
            report.new += escalates and not had_case
            report.dropped += bool(by_these) and not escalates
            if escalates and not had_case and len(report.new_examples) < EXAMPLES:
                report.new_examples.append(ReplayExample(pk, external_id))
            if by_these and not escalates and len(report.dropped_examples) < EXAMPLES:
                case_id = min(case_of[(pk, code)] for code in by_these)
                report.dropped_examples.append(ReplayExample(pk, external_id, case_id))
    return report
