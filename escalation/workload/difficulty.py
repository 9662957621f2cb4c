"""How hard a contact is for the person who takes it: difficulty `d` in [0, 1] and its parts.

`difficulty_compute` is pure (docs/workload.md gives the formula and why); the services below
gather its inputs from what the engine stored and keep Case.difficulty up to date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from escalation.analysis import SENSITIVE_TOPICS
from escalation.models import Case, ConversationState, MessageAnalysis
from store.models import PriorContact

# Each part's largest contribution: a part at full strength alone makes a contact this hard.
# Parts combine as a noisy-OR, d = 1 - prod(1 - weight * part), so every stressor raises d,
# several compound, and d never leaves [0, 1]. docs/workload.md says why each is where it is.
DIFFICULTY_WEIGHTS: dict[str, float] = {
    "risk": 0.50,
    "aggression": 0.50,
    "threats": 0.45,
    "policy_denied": 0.30,
    "injection": 0.30,
    "sensitive": 0.50,
    "rule": 0.15,
    "ambiguity": 0.30,
    "sentiment_handoff": 0.40,
    "sentiment_human": 0.45,
    "prior_contacts": 0.30,
    "length": 0.20,
}
PRIOR_CONTACT_DAYS = 30


def saturate(x: float, half: float) -> float:
    """x / (x + half): 0 at 0, one half at `half`, approaching 1."""
    return x / (x + half) if x > 0 else 0.0


@dataclass(frozen=True)
class DifficultyInputs:
    """What the engine knows about a contact. Sentiments are in [-1, 1]; `counts` maps a
    signal kind to the number of events it fired on (ConversationState.counts)."""

    risk: float = 0.0
    counts: Mapping[str, int] = field(default_factory=dict)
    topic: str = ""
    # The priority (0-100) of the guardrail rule that escalated it; None for a plain handoff.
    rule_priority: int | None = None
    sentiment_handoff: float = 0.0
    # Mean sentiment of the customer's messages after the handoff; None before any.
    sentiment_human: float | None = None
    prior_contacts: int = 0
    customer_turns: int = 0


@dataclass(frozen=True)
class Difficulty:
    value: float
    # Part name -> its strength in [0, 1] before weighting.
    parts: dict[str, float]

    def contributions(self) -> dict[str, float]:
        return {k: round(DIFFICULTY_WEIGHTS[k] * v, 4) for k, v in self.parts.items()}


def difficulty_parts(inputs: DifficultyInputs) -> dict[str, float]:
    """Each part's strength in [0, 1] (docs/workload.md, "Difficulty")."""
    c = inputs.counts
    sensitive = inputs.topic in SENSITIVE_TOPICS or any(c.get(k) for k in SENSITIVE_TOPICS)
    threats = (
        c.get("threat_cancel", 0)
        + c.get("threat_review", 0)
        + 2 * (c.get("threat_chargeback", 0) + c.get("threat_legal", 0))
    )
    return {
        "risk": min(1.0, max(0.0, inputs.risk)),
        "aggression": saturate(2 * c.get("profanity", 0) + c.get("all_caps", 0), 1),
        "threats": saturate(threats, 1),
        "policy_denied": saturate(c.get("policy_denied", 0), 1),
        "injection": 1.0 if c.get("prompt_injection") else 0.0,
        "sensitive": 1.0 if sensitive else 0.0,
        "rule": min(1.0, inputs.rule_priority / 100) if inputs.rule_priority else 0.0,
        "ambiguity": saturate(
            c.get("repeated_question", 0) + c.get("low_confidence", 0) + c.get("ai_loop", 0), 2
        ),
        "sentiment_handoff": max(0.0, -inputs.sentiment_handoff),
        "sentiment_human": max(0.0, -(inputs.sentiment_human or 0.0)),
        "prior_contacts": saturate(inputs.prior_contacts, 2),
        "length": saturate(inputs.customer_turns, 10),
    }


def difficulty_compute(inputs: DifficultyInputs) -> Difficulty:
    """d = 1 - prod(1 - w_k * p_k) over the parts p_k with weights DIFFICULTY_WEIGHTS."""
    parts = difficulty_parts(inputs)
    remaining = 1.0
    for name, strength in parts.items():
        remaining *= 1.0 - DIFFICULTY_WEIGHTS[name] * min(1.0, strength)
    return Difficulty(
        value=round(min(1.0, max(0.0, 1.0 - remaining)), 4),
        parts={k: round(v, 4) for k, v in parts.items()},
    )


def state_inputs(
    *,
    risk: float,
    counts: Mapping[str, int] | None,
    topic: str,
    sentiment: float,
    customer_turns: int,
    prior_contacts: int = 0,
) -> DifficultyInputs:
    """The inputs of a conversation the AI kept (no case): its stored state, the sentiment it
    ended on standing for the handoff's, no rule and no human part."""
    return DifficultyInputs(
        risk=risk,
        counts=dict(counts or {}),
        topic=topic,
        sentiment_handoff=sentiment,
        prior_contacts=prior_contacts,
        customer_turns=customer_turns,
    )


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def case_prior_contacts(*, case: Case, now: datetime) -> int:
    """The customer's contacts in the PRIOR_CONTACT_DAYS before this case: the store's record
    (PriorContact of the conversation's account) and Baton's own earlier cases of the same
    customer (by account or by the platform's customer reference)."""
    since = now - timedelta(days=PRIOR_CONTACT_DAYS)
    conversation = case.conversation
    same = Q()
    if conversation.account_id:
        same |= Q(conversation__account_id=conversation.account_id)
    if conversation.customer_id:
        same |= Q(conversation__customer_id=conversation.customer_id)
    same |= Q(conversation_id=conversation.pk)
    earlier = (
        Case.objects.filter(same, queued_at__gte=since, pk__lt=case.pk)
        .exclude(merged_into__isnull=False)
        .count()
    )
    store = (
        PriorContact.objects.filter(
            customer__customer_id=conversation.account_id, contacted_at__gte=since
        ).count()
        if conversation.account_id
        else 0
    )
    return earlier + store


def case_difficulty_inputs(
    *, case: Case, state: ConversationState | None = None, now: datetime | None = None
) -> DifficultyInputs:
    """Gather a case's inputs: its state (the case's part of the conversation), the rule that
    escalated it, the sentiment at handoff (set when queued) and since, prior contacts."""
    now = now or timezone.now()
    if state is None:
        state = ConversationState.objects.filter(conversation_id=case.conversation_id).first()
    human = list(
        MessageAnalysis.objects.filter(
            conversation_id=case.conversation_id,
            role="customer",
            sentiment__isnull=False,
            event__received_at__gte=case.queued_at,
            seq__gt=case.after_seq,
        ).values_list("sentiment", flat=True)
    )
    rule_priority = None
    if case.trigger == Case.Trigger.RULE or case.rule_id:
        rule_priority = case.rule.priority if case.rule_id else case.priority
    return DifficultyInputs(
        risk=case.risk or (state.risk if state else 0.0),
        counts=dict(state.counts) if state else {},
        topic=case.topic or (state.topic if state else ""),
        rule_priority=rule_priority,
        sentiment_handoff=case.sentiment,
        sentiment_human=_mean(human),
        prior_contacts=case_prior_contacts(case=case, now=now),
        customer_turns=state.customer_turns if state else 0,
    )


# Human-part customer turns, kept on the case as they arrive (Case.difficulty_parts["human"]):
# {"<agent user id>": {"hours": {"<UTC hour, ISO>": [turns, negative]}, "first_negative": ISO}},
# so the board reads them with the case row instead of joining every message of the shift.
NEGATIVE_TURN = -0.15


def human_turns_add(
    human: Mapping[str, Any] | None,
    *,
    user_id: int,
    turns: Iterable[tuple[datetime, float | None]],
) -> dict[str, Any]:
    """`human` with the customer's `turns` (received at, sentiment) counted for the agent who
    holds the case. Pure."""
    out = {
        k: {"hours": dict(v.get("hours") or {}), **{"first_negative": v.get("first_negative")}}
        for k, v in (human or {}).items()
    }
    mine = out.setdefault(str(user_id), {"hours": {}, "first_negative": None})
    for at, sentiment in turns:
        at = at.astimezone(dt.UTC)
        key = at.replace(minute=0, second=0, microsecond=0).isoformat()
        negative = sentiment is not None and sentiment <= NEGATIVE_TURN
        count = mine["hours"].get(key, [0, 0])
        mine["hours"][key] = [count[0] + 1, count[1] + int(negative)]
        if negative and (mine["first_negative"] is None or at.isoformat() < mine["first_negative"]):
            mine["first_negative"] = at.isoformat()
    return out


def _human_part(case: Case, turns: Sequence[tuple[datetime, float | None]]) -> dict[str, Any]:
    human = (case.difficulty_parts or {}).get("human") or {}
    if turns and case.status == Case.Status.ASSIGNED and case.assignee_id:
        return human_turns_add(human, user_id=case.assignee_id, turns=turns)
    return human


def case_difficulty_apply(
    *,
    case: Case,
    state: ConversationState | None = None,
    now: datetime | None = None,
    turns: Sequence[tuple[datetime, float | None]] = (),
) -> float:
    """Set the case's difficulty and its parts on the instance (the caller saves them), with
    the customer's new `turns` (received at, sentiment) counted for its holder."""
    inputs = case_difficulty_inputs(case=case, state=state, now=now)
    result = difficulty_compute(inputs)
    case.difficulty = result.value
    case.difficulty_parts = {
        "parts": result.parts,
        "contributions": result.contributions(),
        "inputs": {k: v for k, v in asdict(inputs).items() if k != "counts"},
        "human": _human_part(case, turns),
    }
    return result.value


def case_difficulty_refresh(
    *,
    case_id: int,
    state: ConversationState | None = None,
    now: datetime | None = None,
    turns: Sequence[tuple[datetime, float | None]] = (),
) -> float | None:
    """Recompute and store the case's difficulty and its parts; returns d (None: no case).
    `state` is the conversation's state when the caller has just saved it; `turns` are the
    customer's messages just received. Call holding the conversation's row lock."""
    case = Case.objects.select_related("conversation", "rule").filter(pk=case_id).first()
    if case is None:
        return None
    value = case_difficulty_apply(case=case, state=state, now=now, turns=turns)
    Case.objects.filter(pk=case.pk).update(
        difficulty=case.difficulty, difficulty_parts=case.difficulty_parts
    )
    return value


def case_turns_record(*, case_id: int, turns: Sequence[tuple[datetime, float | None]]) -> None:
    """Count customer turns for the case's holder without rescoring it (a backfill, a test)."""
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return
    parts = dict(case.difficulty_parts or {})
    parts["human"] = _human_part(case, turns)
    Case.objects.filter(pk=case.pk).update(difficulty_parts=parts)
