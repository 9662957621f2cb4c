"""Reads for the desk. Each page costs a fixed number of queries, whatever it shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from actions.models import DraftedAction
from conversations.models import Event
from desk.limits import LIMITS
from desk.models import Macro
from escalation.cases.access import (
    agent_teams,
    case_may_see_as_team,
    case_may_work,
    user_is_supervisor,
    user_name,
)
from escalation.cases.related import case_related
from escalation.cases.routing import holding_refusal
from escalation.models import AgentProfile, Case, CaseEvent, HandoffPacket, Team
from store import selectors as store_selectors
from store.models import Order

# A page of the queue: a person reads the top; the pager and the counts say how many more wait.
QUEUE_PAGE_SIZE = 100
CONTACT_WINDOW = timedelta(days=30)
OPEN = (Case.Status.QUEUED, Case.Status.ASSIGNED)


class QueueView(models.TextChoices):
    MINE = "mine", "Mine"
    UNASSIGNED = "unassigned", "Unassigned"
    TEAMS = "teams", "My teams"
    ALL = "all", "All teams"
    WAITING = "waiting", "Waiting on customer"
    BREACHED = "breached", "Breached"


@dataclass(frozen=True)
class QueueScope:
    """Whose queue a page shows: `teams` the teams they may see (None: every team, a
    supervisor), `own` the teams they are on (the "My teams" view)."""

    teams: tuple[str, ...] | None
    own: tuple[str, ...]

    @property
    def supervisor(self) -> bool:
        return self.teams is None

    def views(self) -> list[QueueView]:
        """The views this person has, in tab order."""
        return [v for v in QueueView if v != QueueView.ALL or self.supervisor]

    @property
    def default_view(self) -> QueueView:
        return QueueView.ALL if self.supervisor else QueueView.TEAMS


def queue_scope(*, user: Any) -> QueueScope:
    teams = agent_teams(user=user)
    if teams is not None:
        return QueueScope(teams=tuple(teams), own=tuple(teams))
    profile = getattr(user, "agent_profile", None)
    own = [t.slug for t in profile.teams.all()] if profile is not None else []
    return QueueScope(teams=None, own=tuple(own or ["general"]))


@dataclass(frozen=True)
class QueueQuery:
    """What a queue page shows: a view (the filters and page come with it). Hashable: it is
    part of the key a pushed render is shared under (desk/fanout.py)."""

    view: str = QueueView.TEAMS
    team: str = ""
    topic: str = ""
    priority: str = ""
    status: str = ""
    q: str = ""
    page: int = 1

    def params(self) -> dict[str, Any]:
        """The query as the page's address carries it: the view, the filters set, the page."""
        params = {
            name: getattr(self, name)
            for name in ("view", "team", "topic", "priority", "status", "q")
            if getattr(self, name)
        }
        if self.page > 1:
            params["page"] = self.page
        return params

    @property
    def filtered(self) -> bool:
        return bool(self.team or self.topic or self.priority or self.status or self.q)


# The priority filter's bands: those the queue colours its rows by (desk/cards.py).
PRIORITY_BANDS = {"high": (75, 1000), "normal": (40, 74), "low": (0, 39)}


def _filter_q(query: QueueQuery) -> Q:
    """The filters and the search as a condition on cases."""
    condition = Q()
    if query.team:
        condition &= Q(team=query.team)
    if query.topic:
        # A case with no topic shows as "Other", so the filter takes both.
        condition &= Q(topic__in=["", "other"]) if query.topic == "other" else Q(topic=query.topic)
    if query.priority:
        low, high = PRIORITY_BANDS[query.priority]
        condition &= Q(priority__gte=low, priority__lte=high)
    if query.status:
        condition &= Q(status=query.status)
    if query.q:
        condition &= _search_q(query.q)
    return condition


def _search_q(text: str) -> Q:
    """A customer's name or email, a conversation id, or one of the customer's order ids."""
    order_id = text if text.startswith("#") else f"#{text}"
    orders = Order.objects.filter(order_id__in=[text, order_id]).values("customer__customer_id")
    return (
        Q(conversation__customer__name__icontains=text)
        | Q(conversation__customer__email__icontains=text)
        | Q(conversation__external_id__icontains=text)
        | Q(conversation__account_id__in=orders)
    )


def _queue(*, teams: Sequence[str] | None, user: Any = None) -> QuerySet[Case]:
    cases = Case.objects.filter(status__in=OPEN)
    if teams is not None:
        # An agent's own cases show whichever team they belong to (a transfer to them).
        mine = Q(assignee_id=user.pk) if user is not None else Q(pk__in=[])
        cases = cases.filter(Q(team__in=teams) | mine)
    return cases


def _last_message_role() -> Subquery:
    return Subquery(
        Event.objects.filter(conversation_id=OuterRef("conversation_id"), type=Event.Type.MESSAGE)
        .order_by("-seq", "-id")
        .values("role")[:1]
    )


def _view_q(view: str, *, scope: QueueScope, user: Any, now: datetime) -> Q:
    """The view as a condition on open cases (waiting needs the `last_role` annotation)."""
    # Without a user, "mine" matches nothing, yet still compiles: an empty `pk__in` (or the
    # "My teams" view of a supervisor on no team) would make the counts' one aggregate skip
    # its query and count every view as 0.
    mine = Q(assignee_id=user.pk) if user is not None else Q(pk__isnull=True)
    if view == QueueView.MINE:
        return mine
    if view == QueueView.UNASSIGNED:
        return Q(status=Case.Status.QUEUED)
    if view == QueueView.TEAMS:
        return Q(team__in=scope.own) | mine
    if view == QueueView.WAITING:
        # A person answered last: the next move is the customer's.
        return Q(status=Case.Status.ASSIGNED, last_role="agent")
    if view == QueueView.BREACHED:
        return Q(first_response_at__isnull=True, sla_due_at__lte=now)
    return Q()


QUEUE_CARD_FIELDS = (
    "priority",
    "status",
    "team",
    "topic",
    "trigger",
    "reason",
    "note",
    "summary_line",
    "sentiment",
    "sentiment_trend",
    "queued_at",
    "sla_due_at",
    "first_response_at",
    "due_key",
    "conversation__external_id",
    "conversation__account_id",
    "conversation__integration_id",
    "conversation__customer__name",
    "conversation__customer__email",
    "conversation__customer__external_id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "rule__name",
)


def queue_cases(
    *, user: Any, scope: QueueScope, query: QueueQuery, now: datetime | None = None
) -> QuerySet[Case]:
    """The open cases of one view for `user` (None: what every agent of `scope.teams` shares),
    most urgent (with aging) first. Unsliced."""
    now = now or timezone.now()
    cases = _queue(teams=scope.teams, user=user)
    if query.view == QueueView.WAITING:
        cases = cases.annotate(last_role=_last_message_role())
    cases = cases.filter(_view_q(query.view, scope=scope, user=user, now=now))
    if query.filtered:
        cases = cases.filter(_filter_q(query))
    return cases.order_by("due_key", "id")


def queue_for_agent(
    *, user: Any, scope: QueueScope, query: QueueQuery, now: datetime | None = None
) -> QuerySet[Case]:
    """The cases a queue page lists: one page of a view, with what its cards show."""
    start = (query.page - 1) * QUEUE_PAGE_SIZE
    return (
        queue_cases(user=user, scope=scope, query=query, now=now)
        .select_related("conversation", "conversation__customer", "assignee", "rule")
        # What a card shows (desk/cards.py), without the evidence, rule conditions and the
        # like that a page of cards would otherwise decode for nothing.
        .only(*QUEUE_CARD_FIELDS)[start : start + QUEUE_PAGE_SIZE]
    )


def queue_view_counts(
    *, user: Any, scope: QueueScope, now: datetime | None = None
) -> dict[str, int | None]:
    """How many open cases each of the person's views holds, in one query. `user` None (a
    push shared by a team's sockets): "mine" is None, for queue_mine_counts to fill in."""
    now = now or timezone.now()
    cases = _queue(teams=scope.teams, user=user).annotate(last_role=_last_message_role())
    wanted = [v for v in scope.views() if user is not None or v != QueueView.MINE]
    counts: dict[str, int | None] = dict(
        cases.aggregate(
            **{
                view.value: Count("id", filter=_view_q(view, scope=scope, user=user, now=now))
                for view in wanted
            }
        )
    )
    counts.setdefault(QueueView.MINE.value, None)
    return counts


def queue_filter_choices(
    *, scope: QueueScope, query: QueueQuery
) -> dict[str, list[tuple[str, str]]]:
    """The teams and topics the filters offer: the person's teams (every team for a
    supervisor, one query), and the topics of the open cases they may see (one query)."""
    from desk.templatetags.desk_text import topic_label

    if scope.teams is None:
        slugs = {"general", *Team.objects.values_list("slug", flat=True)}
    else:
        slugs = set(scope.teams)
    topics = {
        topic or "other"
        for topic in _queue(teams=scope.teams).values_list("topic", flat=True).distinct()
    }
    # What the page filters by stays offered, cases or not.
    slugs |= {query.team} - {""}
    topics |= {query.topic} - {""}
    return {
        "team": [(slug, topic_label(slug)) for slug in sorted(slugs)],
        "topic": [(topic, topic_label(topic)) for topic in sorted(topics)],
    }


def queue_holders() -> dict[int, dict[str, int]]:
    """Each agent holding open cases: how many they hold per team. That decides whether an
    agent's queue differs from their teams' (desk/consumers.py renders it once per team set
    for everyone else), and gives each their "Mine" count."""
    holders: dict[int, dict[str, int]] = {}
    rows = (
        Case.objects.filter(status__in=OPEN, assignee__isnull=False)
        .values_list("assignee_id", "team")
        .annotate(n=Count("id"))
        .order_by()
    )
    for assignee_id, team, n in rows:
        holders.setdefault(assignee_id, {})[team] = n
    return holders


def queue_count(
    *, user: Any, scope: QueueScope, query: QueueQuery, now: datetime | None = None
) -> int:
    """How many cases the page's view (with its filters) holds."""
    return queue_cases(user=user, scope=scope, query=query, now=now).count()


@dataclass
class Workspace:
    case: Case
    packet: HandoffPacket | None
    events: list[Event]
    drafted: list[DraftedAction]
    timeline: list[CaseEvent]
    account: Any
    orders: list[Any]
    subscriptions: list[Any]
    contacts: list[Any]
    macros: list[Macro]
    teams: list[Team]
    agents: list[AgentProfile]


def case_transcript(*, case: Case) -> list[Event]:
    return list(Event.objects.filter(conversation_id=case.conversation_id).order_by("seq", "id"))


def case_conversation(*, events: list[Event], notes: list[CaseEvent]) -> list[Any]:
    """The transcript with the case's internal notes in it, each where it was written (by
    when the desk received the events around it); the template marks notes internal."""
    pending = sorted(
        (n for n in notes if n.kind == CaseEvent.Kind.NOTE), key=lambda n: (n.at, n.pk)
    )
    items: list[Any] = []
    for event in events:
        while pending and pending[0].at < event.received_at:
            items.append(pending.pop(0))
        items.append(event)
    return items + pending


def case_notes(*, case: Case) -> list[CaseEvent]:
    return list(
        CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.NOTE).select_related("actor")
    )


def case_workspace(*, case: Case) -> Workspace:
    """Everything the case page shows, in a fixed number of queries."""
    packet = case.packets.order_by("-version").first()
    events = case_transcript(case=case)
    drafted = list(
        DraftedAction.objects.filter(conversation_id=case.conversation_id)
        .select_related("decided_by", "held_by", "started_by")
        .order_by("created_at", "id")
    )
    timeline = list(CaseEvent.objects.filter(case=case).select_related("actor"))
    account_id = case.conversation.account_id or (
        (packet.data.get("customer") or {}).get("customer_id") if packet else None
    )
    account = store_selectors.customer_get(customer_id=account_id) if account_id else None
    orders, subscriptions, contacts = [], [], []
    if account is not None:
        orders = store_selectors.customer_orders(customer_id=account_id, limit=25)
        subscriptions = store_selectors.customer_subscriptions(customer_id=account_id)
        contacts = store_selectors.customer_contacts(
            customer_id=account_id, since=timezone.now() - CONTACT_WINDOW
        )
    return Workspace(
        case=case,
        packet=packet,
        events=events,
        drafted=drafted,
        timeline=timeline,
        account=account,
        orders=orders,
        subscriptions=subscriptions,
        contacts=contacts,
        macros=list(Macro.objects.all()),
        teams=list(Team.objects.all()),
        agents=list(
            AgentProfile.objects.select_related("user").order_by(
                "user__first_name", "user__username"
            )
        ),
    )


def case_resolved_line(*, case: Case) -> str:
    """How a resolved case was closed, for a click that came too late: "already resolved by
    Maya at 10:42 (Resolved)"."""
    entry = (
        CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.RESOLVED)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
    by = f" by {user_name(entry.actor)}" if entry is not None and entry.actor else ""
    at = f" at {timezone.localtime(case.resolved_at):%H:%M}" if case.resolved_at else ""
    outcome = f" ({case.get_outcome_display()})" if case.outcome else ""
    return f"Case {case.pk} was already resolved{by}{at}{outcome}"


def next_case_for_agent(*, user: Any) -> Case | None:
    """Where 'next case' goes: the agent's own oldest unanswered case, else the top of the queue."""
    mine = (
        Case.objects.filter(assignee_id=user.pk, status=Case.Status.ASSIGNED)
        .order_by(F("first_response_at").asc(nulls_first=True), "due_key", "id")
        .first()
    )
    if mine is not None:
        return mine
    teams = agent_teams(user=user)
    queued = Case.objects.filter(status=Case.Status.QUEUED)
    if teams is not None:
        queued = queued.filter(team__in=teams)
    return queued.order_by("due_key", "id").first()


def case_discussed_orders(*, workspace: Workspace) -> set[str]:
    """The orders under discussion: those the packet linked to the account, and those the
    actions still waiting for a decision name."""
    data = workspace.packet.data if workspace.packet else {}
    orders = {str(o) for o in data.get("orders") or [] if o}
    for action in workspace.drafted:
        order_id = (action.args or {}).get("order_id") if isinstance(action.args, dict) else None
        if order_id and action.status == DraftedAction.Status.DRAFTED:
            orders.add(str(order_id))
    return orders


def case_take_refusal(*, case: Case, user: Any) -> str:
    """Why `user` may not take this queued case ("" if they may, or it is not queued): the
    routing rule a pick obeys (a sensitive case's skill, room under their capacity)."""
    if case.status != Case.Status.QUEUED:
        return ""
    profile = getattr(user, "agent_profile", None)
    if profile is None:
        return ""
    return holding_refusal(
        case=case, profile=profile, by_supervisor=user_is_supervisor(user), you=True
    )


def _reply_why(*, case: Case, user: Any, can_work: bool, take_refusal: str) -> str:
    """Why there is no reply box for `user` on this open case, and what they can do instead."""
    if can_work or case.status == Case.Status.RESOLVED:
        return ""
    if case.status == Case.Status.QUEUED:
        if take_refusal:
            return (
                f"{take_refusal} A supervisor can assign it to someone who can; "
                "you can still add an internal note."
            )
        return "Take this case to reply: the customer is then told who is helping them."
    if case.assignee is not None:
        holder = user_name(case.assignee)
        return (
            f"{holder} has this case, so only {holder} or a supervisor can reply. "
            f"Add an internal note for {holder}, or ask a supervisor to transfer it to you."
        )
    return "This case is being prepared; you can reply once it is on the queue."


def case_page_context(*, case: Case, user: Any) -> dict[str, Any]:
    """What the case page renders for `user`: the workspace and what they may do on it."""
    from desk.macros import macros_render

    workspace = case_workspace(case=case)
    is_open = case.status != Case.Status.RESOLVED
    can_work = case_may_work(case=case, user=user)
    # The agent who transferred the case away reads it; nothing more.
    read_only = not case_may_see_as_team(case=case, user=user)
    take_refusal = "" if read_only else case_take_refusal(case=case, user=user)
    discussed = case_discussed_orders(workspace=workspace)
    # The orders the case is about first, so the account panel opens on them.
    workspace.orders.sort(key=lambda order: order.order_id not in discussed)
    return {
        "w": workspace,
        "conversation": case_conversation(events=workspace.events, notes=workspace.timeline),
        "case": case,
        "user": user,
        "macros": macros_render(workspace=workspace, agent=user),
        "outcomes": Case.Outcome.choices,
        "limits": LIMITS,
        "discussed_orders": discussed,
        "is_open": is_open,
        # Reply, approve, transfer, resolve: the case's agent, or a supervisor.
        "can_work": can_work,
        # Take is offered only to someone who may take the case; the others are told why.
        "can_take": case.status == Case.Status.QUEUED and not take_refusal and not read_only,
        "read_only": read_only,
        # The customer's other open and recent cases (templates/desk/_related_cases.html).
        "related": case_related(case=case, user=user),
        "take_refusal": take_refusal,
        "reply_why": (
            f"You transferred this case to {case.team}: you can still read it, but not "
            "reply, add notes or act on it."
            if read_only
            else _reply_why(case=case, user=user, can_work=can_work, take_refusal=take_refusal)
        ),
        # The suggested reply fills the box until the customer has had a first answer.
        "draft_reply": (
            (workspace.packet.data.get("suggested_reply", "") if workspace.packet else "")
            if case.first_response_at is None
            else ""
        ),
    }
