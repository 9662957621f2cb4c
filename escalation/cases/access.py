"""Who may see and work a case: the one access path to a case for a person."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from actions.models import Actor
from escalation.models import AgentProfile, Case


class CaseAccessError(Exception):
    """A person may not have this case, or not do that to it now."""


class CaseNotFound(CaseAccessError):
    """No such case, or not one this person may see (the same answer, so ids leak nothing)."""


class CaseClosed(CaseAccessError):
    """The case is resolved; nothing more can be done on it."""


class NotYourCase(CaseAccessError):
    """Only the agent who holds the case (or a supervisor) may do that."""


def user_fresh(*, user_id: int) -> Any:
    """The user as stored now (a socket's scope holds the one it connected as)."""
    return get_user_model().objects.filter(pk=user_id).first()


def user_is_agent(user: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or AgentProfile.objects.filter(user_id=user.pk).exists()


def user_is_supervisor(user: Any) -> bool:
    """Supervisors work every team's queue and may act on any open case. Reads the user's
    profile through the relation, so a profile already loaded costs no query."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    try:
        return user.agent_profile.role == AgentProfile.Role.SUPERVISOR
    except AgentProfile.DoesNotExist:
        return False


def user_actor(user: Any) -> str:
    """The actor the policy layer judges this person as."""
    return Actor.SUPERVISOR if user_is_supervisor(user) else Actor.AGENT


def user_name(user: Any) -> str:
    return user.get_full_name() or user.username


def agent_profile(*, user: Any) -> AgentProfile | None:
    profile = AgentProfile.objects.filter(user_id=user.pk).prefetch_related("teams").first()
    if profile is not None:
        # Cached on the user, so the page's presence switch reads it without a query.
        user.agent_profile = profile
    return profile


def agent_teams(*, user: Any) -> list[str] | None:
    """The teams whose queues this person works; None means every team (supervisors)."""
    profile = agent_profile(user=user)
    if user_is_supervisor(user):
        return None
    # Everyone works the general queue unless they were put on particular teams.
    return [team.slug for team in profile.teams.all()] or ["general"] if profile else []


def case_may_work(*, case: Case, user: Any) -> bool:
    """Reply, act, transfer, resolve: the agent who holds the open case, or a supervisor."""
    if case.status == Case.Status.RESOLVED:
        return False
    mine = case.status == Case.Status.ASSIGNED and case.assignee_id == user.pk
    return mine or user_is_supervisor(user)


def case_transferred_by(*, case: Case, user: Any) -> bool:
    """Whether `user` transferred this case (to another team or agent) at some point."""
    from escalation.models import CaseEvent

    return CaseEvent.objects.filter(
        case=case, kind=CaseEvent.Kind.TRANSFER, actor_id=user.pk
    ).exists()


def case_may_see_as_team(*, case: Case, user: Any) -> bool:
    """Whether `user` sees the case as one of its team (or its holder, or a supervisor), as
    opposed to read-only, as the agent who transferred it away. Uses the profile
    case_access loaded on the user, if it did (no query then)."""
    if case.assignee_id == user.pk or user_is_supervisor(user):
        return True
    profile = getattr(user, "agent_profile", None)
    if profile is None or not hasattr(profile, "_prefetched_objects_cache"):
        teams = agent_teams(user=user) or []
    else:
        teams = [team.slug for team in profile.teams.all()] or ["general"]
    return case.team in teams


def case_access(*, user: Any, case_id: int, lock: bool = False, to_work: bool = False) -> Case:
    """The case, if `user` may see it: a case of one of their teams, or one they hold.

    `lock` takes the case's row lock (call inside a transaction). `to_work` also requires that
    they may work it now (case_may_work). Raises CaseNotFound, CaseClosed or NotYourCase.
    """
    if lock:
        # of=self: PostgreSQL cannot lock the nullable side of an outer join.
        cases = Case.objects.select_for_update(of=("self",)).select_related(
            "conversation", "assignee"
        )
    else:
        cases = Case.objects.select_related(
            "conversation", "conversation__customer", "assignee", "rule"
        )
    case = cases.filter(pk=case_id).first()
    if case is None:
        raise CaseNotFound("No such case.")
    teams = agent_teams(user=user)
    outside = teams is not None and case.team not in teams and case.assignee_id != user.pk
    # The agent who transferred it away may still read it (never work it: no lock).
    if outside and (lock or to_work or not case_transferred_by(case=case, user=user)):
        raise CaseNotFound("No such case.")
    if to_work:
        if case.status == Case.Status.RESOLVED:
            raise CaseClosed("This case is resolved.")
        if not case_may_work(case=case, user=user):
            if case.assignee_id is None:
                raise NotYourCase(
                    "Take the case first, so the customer knows who they are talking to."
                )
            raise NotYourCase(
                f"{user_name(case.assignee)} has this case. "
                "Ask them or a supervisor to transfer it."
            )
    return case
