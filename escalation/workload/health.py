"""The queue health strip of the supervisor console: per team and in total, what is open,
queued and breached, the longest wait, who is online, and the wait to expect.

Expected wait is Little's law read off the last hour: the cases queued now divided by how
many cases of the team were picked up (assigned) per minute over the last 60 minutes. It is
the wait of a case joining the back of the queue now if the team keeps the pace it has just
had. With nothing picked up in that hour and cases waiting, the pace is unknown and so is the
wait (None), rather than a made-up figure. Online counts agents, as the board lists them
(supervisors at the console are not counted). The model is pace.py's, which also gives a
customer their wait range. Four queries, whatever the number of cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from escalation.models import AgentProfile, Case, Team
from escalation.workload.pace import wait_mean_minutes

THROUGHPUT_WINDOW = timedelta(minutes=60)
OPEN = (Case.Status.QUEUED, Case.Status.ASSIGNED)


@dataclass(frozen=True)
class TeamHealth:
    slug: str
    name: str
    open: int = 0
    queued: int = 0
    breached: int = 0
    online: int = 0
    oldest_queued_at: datetime | None = None
    picked_last_hour: int = 0
    # Minutes; None when the team's pace over the last hour is unknown (nothing picked up).
    expected_wait: float | None = 0.0
    longest_wait_minutes: float | None = None


@dataclass(frozen=True)
class QueueHealth:
    now: datetime
    total: TeamHealth
    teams: list[TeamHealth] = field(default_factory=list)


def _expected_wait(queued: int, picked: int) -> float | None:
    return wait_mean_minutes(
        ahead=queued, done=picked, window_minutes=THROUGHPUT_WINDOW.total_seconds() / 60
    )


def _health(
    *, slug: str, name: str, row: dict[str, object], online: int, now: datetime
) -> TeamHealth:
    queued = int(row.get("queued") or 0)
    picked = int(row.get("picked") or 0)
    oldest = row.get("oldest")
    return TeamHealth(
        slug=slug,
        name=name,
        open=int(row.get("open") or 0),
        queued=queued,
        breached=int(row.get("breached") or 0),
        online=online,
        oldest_queued_at=oldest if isinstance(oldest, datetime) else None,
        picked_last_hour=picked,
        expected_wait=_expected_wait(queued, picked),
        longest_wait_minutes=(now - oldest).total_seconds() / 60
        if isinstance(oldest, datetime)
        else None,
    )


def _case_rows(*, now: datetime) -> dict[str, dict[str, object]]:
    since = now - THROUGHPUT_WINDOW
    is_open = Q(status__in=OPEN)
    is_queued = Q(status=Case.Status.QUEUED)
    aggregates = {
        "open": Count("id", filter=is_open),
        "queued": Count("id", filter=is_queued),
        "breached": Count(
            "id", filter=is_open & Q(first_response_at__isnull=True, sla_due_at__lt=now)
        ),
        "picked": Count("id", filter=Q(assigned_at__gte=since)),
        "oldest": Min("queued_at", filter=is_queued),
    }
    return {
        row["team"]: row
        for row in Case.objects.filter(is_open | Q(assigned_at__gte=since))
        .values("team")
        .annotate(**aggregates)
        .order_by()
    }


def _rows_of(health: QueueHealth) -> dict[str, dict[str, object]]:
    return {
        t.slug: {
            "open": t.open,
            "queued": t.queued,
            "breached": t.breached,
            "picked": t.picked_last_hour,
            "oldest": t.oldest_queued_at,
        }
        for t in health.teams
    }


def queue_health(
    *, now: datetime | None = None, cases_as_of: QueueHealth | None = None
) -> QueueHealth:
    """Every team's health, and the whole desk's (its expected wait from the summed pace).
    `cases_as_of`: an earlier reading whose case figures still hold (only presence changed
    since): the online counts are read anew, the cases are not, the waits are aged to now."""
    now = now or timezone.now()
    rows = _case_rows(now=now) if cases_as_of is None else _rows_of(cases_as_of)
    online_by_team = dict(
        Team.objects.filter(
            agents__presence=AgentProfile.Presence.ONLINE, agents__role=AgentProfile.Role.AGENT
        )
        .values("slug")
        .annotate(n=Count("agents", distinct=True))
        .values_list("slug", "n")
    )
    online_total = AgentProfile.objects.filter(
        presence=AgentProfile.Presence.ONLINE, role=AgentProfile.Role.AGENT
    ).count()
    names = dict(Team.objects.values_list("slug", "name"))
    teams = [
        _health(
            slug=slug,
            name=names.get(slug, slug),
            row=rows.get(slug, {}),
            online=online_by_team.get(slug, 0),
            now=now,
        )
        for slug in sorted(set(names) | set(rows), key=lambda s: names.get(s, s).lower())
    ]
    oldest = [t.oldest_queued_at for t in teams if t.oldest_queued_at is not None]
    total_row: dict[str, object] = {
        key: sum(getattr(t, attr) for t in teams)
        for key, attr in (
            ("open", "open"),
            ("queued", "queued"),
            ("breached", "breached"),
            ("picked", "picked_last_hour"),
        )
    }
    total_row["oldest"] = min(oldest) if oldest else None
    total = _health(slug="", name="All teams", row=total_row, online=online_total, now=now)
    return QueueHealth(now=now, total=total, teams=teams)
