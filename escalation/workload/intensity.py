"""Team intensification: is the AI concentrating the hard contacts on people? The mean
difficulty of the contacts that reached humans over the mean of all contacts, the AI-only
ones included, per hour and per day (docs/workload.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations.models import Conversation
from escalation.models import Case
from escalation.workload.difficulty import PRIOR_CONTACT_DAYS, difficulty_compute, state_inputs
from escalation.workload.index import level
from escalation.workload.policy import workload_policy
from store.models import PriorContact


@dataclass(frozen=True)
class IntensityPoint:
    start: datetime
    human_mean: float | None  # mean d of the contacts that reached a person
    all_mean: float | None  # mean d of every contact
    ratio: float | None  # human_mean / all_mean
    human_contacts: int
    contacts: int


@dataclass(frozen=True)
class Intensification:
    now: datetime
    # Over the last 24 hours.
    ratio: float | None
    level: str  # "", "amber", "red" (WorkloadPolicy.intensification_amber / _red)
    human_mean: float | None
    all_mean: float | None
    hourly: tuple[IntensityPoint, ...]  # the last 24 clock hours, oldest first
    daily: tuple[IntensityPoint, ...]  # the last `days` days (UTC), oldest first
    # Team slug -> the team's human mean over the desk's all-contacts mean, last 24 hours.
    by_team: dict[str, float | None]


@dataclass(frozen=True)
class Contact:
    at: datetime
    difficulty: float
    human: bool
    team: str = ""


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(human: float | None, everyone: float | None) -> float | None:
    if human is None or not everyone:
        return None
    return round(human / everyone, 3)


def intensity_point(start: datetime, contacts: Iterable[Contact]) -> IntensityPoint:
    contacts = list(contacts)
    human = _mean([c.difficulty for c in contacts if c.human])
    everyone = _mean([c.difficulty for c in contacts])
    return IntensityPoint(
        start=start,
        human_mean=round(human, 4) if human is not None else None,
        all_mean=round(everyone, 4) if everyone is not None else None,
        ratio=_ratio(human, everyone),
        human_contacts=sum(1 for c in contacts if c.human),
        contacts=len(contacts),
    )


def contacts_since(since: datetime, *, until: datetime) -> list[Contact]:
    """Every contact from `since`: each case that reached a person (its stored d, at when it
    was queued), and each conversation without a case (d from its stored state, at when it
    began). Two queries."""
    cases = (
        Case.objects.filter(queued_at__gte=since, queued_at__lte=until, merged_into__isnull=True)
        .exclude(status=Case.Status.PREPARING)
        .values_list("queued_at", "difficulty", "team")
    )
    contacts = [Contact(at=at, difficulty=d, human=True, team=team) for at, d, team in cases]
    prior = (
        PriorContact.objects.filter(
            customer__customer_id=OuterRef("account_id"),
            contacted_at__lt=OuterRef("created_at"),
            contacted_at__gte=OuterRef("created_at") - timedelta(days=PRIOR_CONTACT_DAYS),
        )
        .order_by()
        .values("customer")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    ai_only = (
        Conversation.objects.filter(
            created_at__gte=since, created_at__lte=until, cases__isnull=True, state__isnull=False
        )
        .annotate(prior=Coalesce(Subquery(prior), 0))
        .values_list(
            "created_at",
            "state__risk",
            "state__counts",
            "state__topic",
            "state__sentiment",
            "state__customer_turns",
            "prior",
        )
    )
    for at, risk, counts, topic, sentiment, turns, prior_n in ai_only:
        inputs = state_inputs(
            risk=risk,
            counts=counts,
            topic=topic,
            sentiment=sentiment,
            customer_turns=turns,
            prior_contacts=prior_n,
        )
        contacts.append(Contact(at=at, difficulty=difficulty_compute(inputs).value, human=False))
    return contacts


def team_intensification(*, now: datetime | None = None, days: int = 30) -> Intensification:
    """The ratio over the last 24 hours, per clock hour of them and per day of `days`."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    policy = workload_policy()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - timedelta(days=days - 1)
    first_hour = this_hour - timedelta(hours=23)
    contacts = contacts_since(min(first_day, first_hour), until=now)

    by_hour: dict[datetime, list[Contact]] = defaultdict(list)
    by_day: dict[datetime, list[Contact]] = defaultdict(list)
    for c in contacts:
        by_day[c.at.replace(hour=0, minute=0, second=0, microsecond=0)].append(c)
        by_hour[c.at.replace(minute=0, second=0, microsecond=0)].append(c)
    hours = [first_hour + timedelta(hours=i) for i in range(24)]
    day_starts = [first_day + timedelta(days=i) for i in range(days)]
    last_day = [c for c in contacts if c.at > now - timedelta(hours=24)]
    overall = intensity_point(now - timedelta(hours=24), last_day)
    everyone = _mean([c.difficulty for c in last_day])
    teams: dict[str, list[float]] = defaultdict(list)
    for c in last_day:
        if c.human:
            teams[c.team].append(c.difficulty)
    return Intensification(
        now=now,
        ratio=overall.ratio,
        level=level(overall.ratio, policy.intensification_amber, policy.intensification_red),
        human_mean=overall.human_mean,
        all_mean=overall.all_mean,
        hourly=tuple(intensity_point(h, by_hour.get(h, ())) for h in hours),
        daily=tuple(intensity_point(d, by_day.get(d, ())) for d in day_starts),
        by_team={team: _ratio(_mean(values), everyone) for team, values in sorted(teams.items())},
    )
