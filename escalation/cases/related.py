"""A customer's cases seen together: the other open and recent cases of the same customer (by
the store account the conversation is bound to, the customer's email, or their id on the
same platform), and merging two open cases into one, keeping both transcripts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from conversations.events import CaseUpdated, queue_send_on_commit
from conversations.models import Conversation, Event
from escalation.cases.access import CaseAccessError, case_access, case_may_work, user_name
from escalation.cases.lifecycle import approvals_changed_on_commit
from escalation.cases.waiting import queue_moved_on_commit
from escalation.models import Case, CaseEvent

# What "recent" means for a customer's other cases, as for their prior contacts.
RELATED_WINDOW = timedelta(days=30)
OPEN = (Case.Status.PREPARING, Case.Status.QUEUED, Case.Status.ASSIGNED)
MAX_RELATED = 20


def _keys(conversation: Conversation) -> list[tuple[str, Any]]:
    """Who the conversation is with, each way the desk can tell: the bound store account, the
    email, and the customer's id on the platform the conversation came from."""
    keys: list[tuple[str, Any]] = []
    if conversation.account_id:
        keys.append(("account", conversation.account_id))
    ref = conversation.customer
    if ref is not None and ref.email:
        keys.append(("email", ref.email.strip().lower()))
    if ref is not None and ref.external_id:
        keys.append(("external", (conversation.integration_id, ref.external_id)))
    return keys


def _same_customer(keys: list[tuple[str, Any]]) -> Q:
    q = Q(pk__in=[])
    for kind, value in keys:
        if kind == "account":
            q |= Q(conversation__account_id=value)
        elif kind == "email":
            q |= Q(conversation__customer__email__iexact=value)
        else:
            integration_id, external_id = value
            q |= Q(
                conversation__integration_id=integration_id,
                conversation__customer__external_id=external_id,
            )
    return q


@dataclass(frozen=True)
class RelatedCase:
    pk: int
    status: str
    status_label: str
    is_open: bool
    when: datetime | None
    summary: str
    topic: str
    assignee: str
    conversation: str
    merged_into: int | None
    # Why the viewer may not merge it into the case on screen ("" if they may).
    merge_refusal: str


@dataclass
class Related:
    """The case page's view of the customer's other cases."""

    cases: list[RelatedCase] = field(default_factory=list)
    # Cases merged into this one, each with its conversation's transcript.
    merged: list[tuple[RelatedCase, list[Event]]] = field(default_factory=list)

    @property
    def open(self) -> list[RelatedCase]:
        return [c for c in self.cases if c.is_open]


def _row(case: Case, *, viewer: Any, target: Case, now: datetime) -> RelatedCase:
    return RelatedCase(
        pk=case.pk,
        status=case.status,
        status_label=(
            "Merged" if case.outcome == Case.Outcome.MERGED else case.get_status_display()
        ),
        is_open=case.status in OPEN,
        when=case.resolved_at or case.queued_at,
        summary=case.summary_line or case.note or case.reason,
        topic=(case.topic or "").replace("_", " "),
        assignee=user_name(case.assignee) if case.assignee_id else "",
        conversation=case.conversation.external_id,
        merged_into=case.merged_into_id,
        merge_refusal=merge_refusal(case=case, into=target, user=viewer),
    )


def case_related(*, case: Case, user: Any, now: datetime | None = None) -> Related:
    """The customer's other open cases and those of the last 30 days, newest first, and the
    cases merged into this one with their transcripts. Three queries at most."""
    now = now or timezone.now()
    keys = _keys(case.conversation)
    related = Related()
    if not keys:
        return related
    since = now - RELATED_WINDOW
    rows = list(
        Case.objects.filter(_same_customer(keys))
        .exclude(pk=case.pk)
        .filter(Q(status__in=OPEN) | Q(queued_at__gte=since) | Q(merged_into=case))
        .select_related("conversation", "assignee")
        .order_by("-queued_at", "-id")[:MAX_RELATED]
    )
    related.cases = [_row(c, viewer=user, target=case, now=now) for c in rows]
    merged = [c for c in related.cases if c.merged_into == case.pk]
    if merged:
        by_conversation: dict[int, list[Event]] = {}
        conversations = {c.pk: c.conversation_id for c in rows if c.merged_into_id == case.pk}
        for event in Event.objects.filter(conversation_id__in=conversations.values()).order_by(
            "seq", "id"
        ):
            by_conversation.setdefault(event.conversation_id, []).append(event)
        related.merged = [(c, by_conversation.get(conversations[c.pk], [])) for c in merged]
    return related


def cases_related_open(*, cases: Iterable[Case]) -> dict[int, int]:
    """For each of `cases` (with conversation and customer selected), how many other open cases
    the same customer has. One query, whatever the number of cases."""
    cases = list(cases)
    wanted = {c.pk: _keys(c.conversation) for c in cases}
    if not any(wanted.values()):
        return {c.pk: 0 for c in cases}
    holders: dict[tuple[str, Any], set[int]] = {}
    open_rows = Case.objects.filter(status__in=OPEN).values_list(
        "pk",
        "conversation__account_id",
        "conversation__customer__email",
        "conversation__integration_id",
        "conversation__customer__external_id",
    )
    for pk, account_id, email, integration_id, external_id in open_rows:
        if account_id:
            holders.setdefault(("account", account_id), set()).add(pk)
        if email:
            holders.setdefault(("email", email.strip().lower()), set()).add(pk)
        if external_id:
            holders.setdefault(("external", (integration_id, external_id)), set()).add(pk)
    counts = {}
    for pk, keys in wanted.items():
        others: set[int] = set()
        for key in keys:
            others |= holders.get(key, set())
        others.discard(pk)
        counts[pk] = len(others)
    return counts


def merge_refusal(*, case: Case, into: Case, user: Any) -> str:
    """Why `user` may not merge `case` into `into` now ("" if they may)."""
    if case.pk == into.pk:
        return "A case cannot be merged into itself."
    if case.status not in OPEN or into.status not in OPEN:
        return "Only open cases can be merged."
    for one in (case, into):
        if not case_may_work(case=one, user=user):
            if one.assignee_id and one.assignee_id != user.pk:
                return (
                    f"{user_name(one.assignee)} has case {one.pk}; they or a supervisor can merge."
                )
            return f"Take case {one.pk} first, or ask a supervisor to merge."
    return ""


@transaction.atomic
def case_merge(*, case_id: int, into_id: int, user: Any) -> Case:
    """Close case `case_id` into `into_id`, the same customer's other open case: the merged
    case is resolved as merged, pointing at the one that stays, whose page shows its
    transcript; both timelines say who merged what. Returns the case that stays."""
    if case_id == into_id:
        raise ValueError("A case cannot be merged into itself.")
    # Locked in id order, so two merges of the same pair cannot deadlock.
    first, second = sorted((case_id, into_id))
    locked = {pk: case_access(user=user, case_id=pk, lock=True) for pk in (first, second)}
    case, into = locked[case_id], locked[into_id]
    refusal = merge_refusal(case=case, into=into, user=user)
    if refusal:
        raise CaseAccessError(refusal)
    conversations = {
        c.pk: c
        for c in Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk__in=[case.conversation_id, into.conversation_id])
    }
    keys = set(_keys(conversations[case.conversation_id]))
    if not keys & set(_keys(conversations[into.conversation_id])):
        raise ValueError("These cases are not of the same customer.")
    now = timezone.now()
    case.status = Case.Status.RESOLVED
    case.outcome = Case.Outcome.MERGED
    case.resolved_at = now
    case.resolved_seq = conversations[case.conversation_id].last_seq
    case.merged_into = into
    case.save(update_fields=["status", "outcome", "resolved_at", "resolved_seq", "merged_into"])
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.MERGED, actor=user, data={"into": into.pk}
    )
    CaseEvent.objects.create(
        case=into, kind=CaseEvent.Kind.MERGED, actor=user, data={"from": case.pk}
    )
    queue_send_on_commit(case.team, CaseUpdated(case_id=case.pk))
    queue_send_on_commit(into.team, CaseUpdated(case_id=into.pk))
    queue_moved_on_commit(case=case)
    approvals_changed_on_commit(case=case)
    return into
