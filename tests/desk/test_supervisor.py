"""The supervisor console's pages (/supervisor/): who may open it, what a row shows, sort and
team in the address, the approvals inbox deciding on the case page's path, and the page's
query count pinned for 5 agents or 200."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from actions.models import DraftedAction
from actions.services import action_draft, drafted_action_approve
from escalation.models import AgentProfile, Case, PresenceChange, Team
from store.models import Payment
from tests.conftest import Desk
from tests.desk.conftest import HTMX
from tests.desk.test_actions_approvals import big_order, held_refund
from tests.factories import AgentProfileFactory, CaseFactory, agent_user

pytestmark = pytest.mark.django_db


def _supervisor(username: str = "rita") -> Client:
    user = agent_user(role=AgentProfile.Role.SUPERVISOR, username=username)
    client = Client()
    client.force_login(user)
    return client


def _on_shift(username: str, *, team: str = "general", capacity: int = 3) -> Any:
    team_row, _ = Team.objects.get_or_create(slug=team, defaults={"name": team.title()})
    since = timezone.now() - timedelta(hours=2)
    profile = AgentProfileFactory(
        user__username=username,
        user__first_name=username.title(),
        presence=AgentProfile.Presence.ONLINE,
        presence_since=since,
        last_seen_at=timezone.now(),
        capacity=capacity,
    )
    profile.teams.add(team_row)
    PresenceChange.objects.create(
        user=profile.user, presence=AgentProfile.Presence.ONLINE, at=since
    )
    return profile.user


def test_anonymous_people_go_to_the_login_and_agents_are_refused(client: Client) -> None:
    response = client.get(reverse("desk:supervisor"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    maya = agent_user(username="maya")
    client.force_login(maya)
    assert client.get(reverse("desk:supervisor")).status_code == 403
    assert client.get(reverse("desk:supervisor_agent", args=[maya.pk])).status_code == 403
    queue = client.get(reverse("desk:queue")).content.decode()
    assert 'id="nav-supervisor"' not in queue
    outsider = get_user_model().objects.create_user(username="outsider", password="pw")
    client.force_login(outsider)
    assert client.get(reverse("desk:supervisor")).status_code == 403


def test_a_supervisor_sees_the_strip_a_row_per_agent_and_the_inbox() -> None:
    rita = _supervisor()
    maya = _on_shift("maya", team="billing")
    leo = _on_shift("leo")
    CaseFactory(
        team="billing", status=Case.Status.ASSIGNED, assignee=maya, assigned_at=timezone.now()
    )
    CaseFactory(team="billing")
    page = rita.get(reverse("desk:supervisor")).content.decode()
    assert 'id="nav-supervisor"' in page
    assert 'ws-connect="/ws/desk/supervisor/"' in page
    # The strip: the whole desk's row and each team's.
    assert 'id="health-all"' in page and 'id="health-billing"' in page
    # One row per agent, each linking to their detail.
    for user in (maya, leo):
        assert f'id="agent-{user.pk}"' in page
        assert f'href="{reverse("desk:supervisor_agent", args=[user.pk])}"' in page
    row = page[page.index(f'id="agent-{maya.pk}"') :]
    row = row[: row.index('id="agent-', 10)] if 'id="agent-' in row[10:] else row
    assert ">1/3<" in row and "Online" in row and "for 2 h 00" in row
    assert 'class="spark"' in row and "style=" not in page
    assert 'id="approvals-panel"' in page and "Nothing is waiting for a supervisor." in page


def test_sort_and_team_are_kept_in_the_address_and_bad_values_fall_back() -> None:
    rita = _supervisor()
    maya = _on_shift("maya", team="billing")
    leo = _on_shift("leo")
    page = rita.get(
        reverse("desk:supervisor"), {"sort": "name", "team": "billing"}
    ).content.decode()
    assert f'id="agent-{maya.pk}"' in page and f'id="agent-{leo.pk}"' not in page
    assert 'ws-connect="/ws/desk/supervisor/?sort=name&amp;team=billing"' in page
    assert 'href="/supervisor/?sort=load&amp;team=billing"' in page
    page = rita.get(reverse("desk:supervisor"), {"sort": "name"}).content.decode()
    assert page.index(f'id="agent-{leo.pk}"') < page.index(f'id="agent-{maya.pk}"')
    page = rita.get(reverse("desk:supervisor"), {"sort": "bogus", "team": "nope"}).content.decode()
    assert f'id="agent-{maya.pk}"' in page and f'id="agent-{leo.pk}"' in page
    assert 'ws-connect="/ws/desk/supervisor/"' in page
    fragment = rita.get(reverse("desk:supervisor"), {"sort": "load"}, headers=HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="board"') and "<html" not in fragment


def test_an_agents_detail_is_a_page_and_a_fragment() -> None:
    rita = _supervisor()
    maya = _on_shift("maya")
    case = CaseFactory(status=Case.Status.ASSIGNED, assignee=maya, assigned_at=timezone.now())
    url = reverse("desk:supervisor_agent", args=[maya.pk])
    page = rita.get(url).content.decode()
    assert 'id="board"' in page and 'class="agent-detail open"' in page
    assert f'href="{reverse("desk:case", args=[case.pk])}"' in page
    fragment = rita.get(url, headers=HTMX).content.decode()
    assert fragment.lstrip().startswith('<aside id="agent-detail"') and "<html" not in fragment
    assert "The index's parts" in fragment and "Shift timeline" in fragment
    assert rita.get(reverse("desk:supervisor_agent", args=[99999])).status_code == 404


def test_the_inbox_approves_and_rejects_on_the_case_pages_path(desk: Desk) -> None:
    drafted = held_refund(desk)
    rita = _supervisor()
    page = rita.get(reverse("desk:supervisor")).content.decode()
    inbox = page[page.index('id="approvals-panel"') :]
    assert f'href="{desk.url("case")}#action-{drafted.pk}"' in inbox
    assert "refund_payment" in inbox and "$600.00" in inbox and "asked by" in inbox
    approve = desk.url("approve", action_id=drafted.pk)
    assert f'hx-post="{approve}"' in inbox
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = rita.post(approve, {"from": "supervisor"}, headers=HTMX).content.decode()
    assert answer.lstrip().startswith('<section id="approvals-panel"')
    assert "refund_payment done." in answer and "Nothing is waiting for a supervisor." in answer
    refunds = Payment.objects.filter(transaction_type=Payment.Type.REFUND)
    assert list(refunds.values_list("amount", flat=True)) == [Decimal("600.00")]
    # Without htmx: back to the console's inbox.
    second = action_draft(
        tool="refund_payment",
        args={"order_id": big_order(desk).order_id, "amount": "600.00", "reason": "x"},
        drafted_by="ai",
        account_id=desk.store.customer.customer_id,
        conversation=desk.case.conversation,
        case=desk.case,
    )
    drafted_action_approve(drafted_id=second.pk, user=desk.maya, actor="agent")
    response = rita.post(
        desk.url("reject", action_id=second.pk), {"from": "supervisor", "note": "too much"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:supervisor") + "#approvals-panel"
    assert DraftedAction.objects.get(pk=second.pk).status == DraftedAction.Status.REJECTED


def test_a_refused_edit_comes_back_in_the_inbox_as_typed(desk: Desk) -> None:
    drafted = held_refund(desk)
    rita = _supervisor()
    answer = rita.post(
        desk.url("approve", action_id=drafted.pk),
        {"from": "supervisor", "args": "{not json"},
        headers=HTMX,
    ).content.decode()
    assert "not valid JSON" in answer and "{not json" in answer
    assert DraftedAction.objects.get(pk=drafted.pk).status == DraftedAction.Status.DRAFTED


def test_the_console_costs_the_same_queries_for_5_agents_or_200(
    django_assert_num_queries: Any,
) -> None:
    rita = _supervisor()
    agents = [_on_shift(f"agent{n:03d}", team=("general", "billing")[n % 2]) for n in range(5)]
    for user in agents:
        CaseFactory(status=Case.Status.ASSIGNED, assignee=user, assigned_at=timezone.now())
    rita.get(reverse("desk:supervisor"))  # the policy row, created on first read
    with CaptureQueriesContext(connection) as small:
        rita.get(reverse("desk:supervisor"))
    more = [_on_shift(f"agent{n:03d}", team=("general", "billing")[n % 2]) for n in range(5, 200)]
    for user in more:
        CaseFactory(status=Case.Status.ASSIGNED, assignee=user, assigned_at=timezone.now())
    with django_assert_num_queries(len(small.captured_queries)):
        page = rita.get(reverse("desk:supervisor")).content.decode()
    assert page.count('class="board-row agent-row') == 200
