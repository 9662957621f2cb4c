"""Authority limits as a supervisor edits them: parsed from a form, saved as a new version, and
rolled back as a newer copy of an older one. The policy reads the rows on every decision
(actions.services.authority_limits), so a saved version holds from the next action on.

The supervisor audit row lives a layer up (escalation.guardrails wraps these in its
transaction): actions never imports escalation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from actions.models import Actor, AuditEntry, AuthorityLimit, AuthorityLimitVersion
from actions.policy import CUMULATIVE_LIMITS, MESSAGES
from actions.services import DEFAULT_LIMITS

AMOUNT_FIELDS = (
    "max_refund",
    "max_refund_per_order",
    "max_refund_per_conversation",
    "max_refund_per_customer_day",
)
LIMIT_FIELDS = (*AMOUNT_FIELDS, "max_subscription_age_days", "may_write")
# max_digits=12, decimal_places=2 on the model.
AMOUNT_MAX = Decimal("9999999999.99")
DAYS_MAX = 2_147_483_647
SEED_NOTE = "As it was before its first edit in the desk."
OUTSIDE_NOTE = "As changed outside the desk (in the admin)."


class LimitsInvalid(ValueError):
    """What a supervisor typed that cannot be a limit: field name -> message (`__all__` for
    the form as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class LimitChange:
    field: str
    label: str
    before: Any
    after: Any


LABELS = {
    "max_refund": "Largest refund or credit at once",
    "max_refund_per_order": "In sum on one order",
    "max_refund_per_conversation": "In sum in one conversation",
    "max_refund_per_customer_day": "In sum to one customer in 24 hours",
    "max_subscription_age_days": "Oldest subscription it may refund (days)",
    "may_write": "May act (off: read only)",
}


def authority_limit_snapshot(limit: AuthorityLimit) -> dict[str, Any]:
    """The limit fields, amounts as strings with 2 places, empty as None."""
    snapshot: dict[str, Any] = {}
    for name in AMOUNT_FIELDS:
        value = getattr(limit, name)
        snapshot[name] = None if value is None else str(Decimal(value).quantize(Decimal("0.01")))
    snapshot["max_subscription_age_days"] = limit.max_subscription_age_days
    snapshot["may_write"] = bool(limit.may_write)
    return snapshot


def _amount(text: str) -> tuple[str | None, str | None]:
    """(value, error) for one amount box; empty is None, which the model reads as no limit."""
    text = text.strip()
    if not text:
        return None, None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "Write an amount such as 150 or 150.00."
    if not value.is_finite():
        return None, "Write an amount such as 150 or 150.00."
    if value < 0:
        return None, "An amount cannot be negative."
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None, "At most 2 decimal places."
    if value > AMOUNT_MAX:
        return None, f"At most {AMOUNT_MAX}."
    return str(value.quantize(Decimal("0.01"))), None


def authority_limit_parse(*, data: Mapping[str, str]) -> dict[str, Any]:
    """A snapshot from a form's boxes, or LimitsInvalid naming every bad box."""
    errors: dict[str, str] = {}
    snapshot: dict[str, Any] = {}
    for name in AMOUNT_FIELDS:
        value, error = _amount(str(data.get(name, "")))
        if error:
            errors[name] = error
        snapshot[name] = value
    days_text = str(data.get("max_subscription_age_days", "")).strip()
    snapshot["max_subscription_age_days"] = None
    if days_text:
        if not days_text.isdigit():
            errors["max_subscription_age_days"] = "Write a whole number of days, 0 or more."
        elif int(days_text) > DAYS_MAX:
            errors["max_subscription_age_days"] = "Too many days."
        else:
            snapshot["max_subscription_age_days"] = int(days_text)
    snapshot["may_write"] = str(data.get("may_write", "")).lower() in ("on", "true", "1")
    if errors:
        raise LimitsInvalid(errors)
    return snapshot


def authority_limit_current(*, actor: str) -> AuthorityLimit:
    """The actor's limits: its row, or the defaults a missing row means (not saved)."""
    if actor not in Actor.values:
        raise LimitsInvalid({"form": f"No actor {actor!r}."})
    row = AuthorityLimit.objects.filter(actor=actor).first()
    return row if row is not None else AuthorityLimit(actor=actor, **DEFAULT_LIMITS[actor])


def authority_limit_versions(*, actor: str) -> list[AuthorityLimitVersion]:
    """Newest first, with who made each."""
    return list(
        AuthorityLimitVersion.objects.filter(actor=actor)
        .select_related("created_by")
        .order_by("-number")
    )


def authority_limits_overview() -> list[tuple[AuthorityLimit, int]]:
    """Every actor's limits (saved or default) and its current version number, lowest
    authority first. Two queries."""
    rows = {limit.actor: limit for limit in AuthorityLimit.objects.all()}
    numbers = dict(
        AuthorityLimitVersion.objects.values("actor")
        .annotate(latest=Max("number"))
        .values_list("actor", "latest")
    )
    return [
        (
            rows.get(actor) or AuthorityLimit(actor=actor, **DEFAULT_LIMITS[actor]),
            numbers.get(actor) or 1,
        )
        for actor in Actor.values
    ]


def authority_limit_changes(
    *, limit: AuthorityLimit, snapshot: dict[str, Any]
) -> list[LimitChange]:
    """What saving `snapshot` would change, field by field."""
    before = authority_limit_snapshot(limit)
    return [
        LimitChange(name, LABELS[name], before[name], snapshot[name])
        for name in LIMIT_FIELDS
        if before[name] != snapshot[name]
    ]


REPLAY_DAYS = 30
REPLAY_EXAMPLES = 5
# The reasons the authority limits give (actions/policy.py _within and policy_evaluate).
LIMIT_REASONS = frozenset(
    {"over_authority_limit", "subscription_too_old", "read_only_actor"}
    | {reason for _, reason in CUMULATIVE_LIMITS.values()}
)


@dataclass(frozen=True)
class LimitEffect:
    """An action the actor executed that the new limits would not have let through alone."""

    entry_id: int
    tool: str
    amount: Decimal | None
    at: datetime
    case_id: int | None
    conversation_id: int | None
    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        return " ".join(MESSAGES.get(code, code) for code in self.reasons)


@dataclass
class LimitsReplay:
    days: int
    # Executions by this actor in the window, and those the new limits would have stopped.
    executed: int = 0
    stopped: int = 0
    examples: list[LimitEffect] = field(default_factory=list)
    # Held for approval, or denied, by these limits in the window. Whether the new limits
    # would let them through is not known: the audit keeps no amounts or sums for them.
    held_by_limits: int = 0


def _stopped_by(snapshot: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    """What the limits in `snapshot` say of an executed action, from the amount it gave and
    the actor's running totals after it that the audit kept (as policy._within counts)."""
    if not snapshot["may_write"]:
        return ["read_only_actor"]
    amount = entry["amount"]
    if amount is None:
        return []
    reasons = []
    cap = snapshot["max_refund"]
    if cap is not None and amount > Decimal(cap):
        reasons.append("over_authority_limit")
    for scope, (name, reason) in CUMULATIVE_LIMITS.items():
        total = (entry["totals"] or {}).get(scope)
        cap = snapshot.get(name)
        if cap is None or total is None or Decimal(total) <= Decimal(cap):
            continue
        # An amount over the per-action limit on its own is that, not a sum over its cap.
        if Decimal(total) != amount or "over_authority_limit" not in reasons:
            reasons.append(reason)
    return reasons


def authority_limit_replay(
    *, actor: str, snapshot: dict[str, Any], now: datetime | None = None
) -> LimitsReplay:
    """Which of the actor's executions in the last REPLAY_DAYS the limits in `snapshot` would
    not have let through on their own (money and sums only: a subscription's age then is not
    kept). Two queries; the executions are read as values, oldest first."""
    since = (now or timezone.now()) - timedelta(days=REPLAY_DAYS)
    replay = LimitsReplay(days=REPLAY_DAYS)
    entries = (
        AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED, actor=actor, at__gte=since)
        .order_by("at", "id")
        .values("id", "tool", "amount", "totals", "at", "case_id", "conversation_id")
    )
    for entry in entries.iterator(chunk_size=500):
        replay.executed += 1
        reasons = _stopped_by(snapshot, entry)
        if not reasons:
            continue
        replay.stopped += 1
        if len(replay.examples) < REPLAY_EXAMPLES:
            replay.examples.append(
                LimitEffect(
                    entry_id=entry["id"],
                    tool=entry["tool"],
                    amount=entry["amount"],
                    at=entry["at"],
                    case_id=entry["case_id"],
                    conversation_id=entry["conversation_id"],
                    reasons=tuple(reasons),
                )
            )
    for reasons in AuditEntry.objects.filter(
        kind__in=[AuditEntry.Kind.HELD, AuditEntry.Kind.DENIED], actor=actor, at__gte=since
    ).values_list("reasons", flat=True):
        replay.held_by_limits += bool(set(reasons or []) & LIMIT_REASONS)
    return replay


def _locked(actor: str, *, base_version: int | None = None) -> tuple[AuthorityLimit, int]:
    """The actor's row under its lock (created from the defaults when missing), and its
    latest version number after seeding version 1 from the state before the first edit (or
    recording the state it was changed to outside the desk since its last version)."""
    if actor not in Actor.values:
        raise LimitsInvalid({"form": f"No actor {actor!r}."})
    AuthorityLimit.objects.get_or_create(actor=actor, defaults=DEFAULT_LIMITS[actor])
    limit = AuthorityLimit.objects.select_for_update().get(actor=actor)
    last = AuthorityLimitVersion.objects.filter(actor=actor).order_by("-number").first()
    saved = last.number if last else 1
    if base_version is not None and base_version != saved:
        raise LimitsInvalid(
            {"form": f"Someone saved version {saved} since your preview; preview again."}
        )
    current = authority_limit_snapshot(limit)
    if last is None:
        AuthorityLimitVersion.objects.create(
            actor=actor, number=1, snapshot=current, note=SEED_NOTE
        )
        return limit, 1
    if last.snapshot != current:
        # Changed some other way (the admin) since its last version: that state is kept too.
        AuthorityLimitVersion.objects.create(
            actor=actor, number=last.number + 1, snapshot=current, note=OUTSIDE_NOTE
        )
        return limit, last.number + 1
    return limit, last.number


def _apply(limit: AuthorityLimit, snapshot: dict[str, Any]) -> None:
    for name in AMOUNT_FIELDS:
        value = snapshot.get(name)
        setattr(limit, name, None if value is None else Decimal(value))
    limit.max_subscription_age_days = snapshot.get("max_subscription_age_days")
    limit.may_write = bool(snapshot.get("may_write", True))
    limit.save()


@transaction.atomic
def authority_limit_version_add(
    *,
    actor: str,
    snapshot: dict[str, Any],
    by: Any,
    note: str = "",
    base_version: int | None = None,
) -> tuple[AuthorityLimitVersion, dict[str, Any]]:
    """Save `snapshot` (from authority_limit_parse) as the actor's limits and as a new version.
    With `base_version`, refuse if another version was saved since (the one the supervisor
    previewed against). Returns the version and the snapshot it replaced."""
    limit, latest = _locked(actor, base_version=base_version)
    before = authority_limit_snapshot(limit)
    if before == snapshot:
        raise LimitsInvalid({"form": "Nothing changed."})
    _apply(limit, snapshot)
    version = AuthorityLimitVersion.objects.create(
        actor=actor, number=latest + 1, snapshot=snapshot, note=note[:200], created_by=by
    )
    return version, before


@transaction.atomic
def authority_limit_version_restore(
    *, actor: str, number: int, by: Any, note: str = ""
) -> tuple[AuthorityLimitVersion, dict[str, Any]]:
    """Put version `number` back, as a new version that says where it came from."""
    limit, latest = _locked(actor)
    target = AuthorityLimitVersion.objects.filter(actor=actor, number=number).first()
    if target is None:
        raise LimitsInvalid({"form": f"No version {number}."})
    before = authority_limit_snapshot(limit)
    if before == target.snapshot:
        raise LimitsInvalid({"form": f"The limits are already as in version {number}."})
    _apply(limit, target.snapshot)
    version = AuthorityLimitVersion.objects.create(
        actor=actor,
        number=latest + 1,
        snapshot=target.snapshot,
        note=(note or f"Rolled back to version {number}.")[:200],
        rolled_back_from=number,
        created_by=by,
    )
    return version, before
