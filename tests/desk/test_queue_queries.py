"""Every queue view, filter and search costs the same number of queries for 1 case or 40."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from desk import consumers
from desk.selectors import QueueQuery, QueueScope
from escalation.models import AgentProfile, Case
from tests.factories import CaseFactory, EventFactory, UserFactory

# session, user, agent check, profile and its teams, the view counts, the cases, their count,
# the topics to filter by
AGENT_PAGE = 9
# and the teams to filter by, and the approvals waiting for a supervisor (the header's badge)
SUPERVISOR_PAGE = AGENT_PAGE + 2
# the view counts, the cases, their count
PUSHED_LIST = 3

QUERIES = [
    {},
    {"view": "mine"},
    {"view": "unassigned"},
    {"view": "teams"},
    {"view": "waiting"},
    {"view": "breached"},
    {"view": "teams", "team": "general", "topic": "refund", "priority": "high"},
    {"status": "assigned"},
    {"q": "noah"},
    {"q": "#W0000001"},
    {"view": "unassigned", "q": "web-", "page": "2"},
]


def _cases(n: int, maya: Any) -> None:
    for i in range(n):
        case = CaseFactory(
            topic="refund" if i % 2 else "",
            priority=80 if i % 3 else 30,
            conversation__customer_name=f"Noah {i}",
            status=Case.Status.ASSIGNED if i % 4 == 0 else Case.Status.QUEUED,
            assignee=maya if i % 4 == 0 else None,
        )
        EventFactory(conversation=case.conversation)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params", QUERIES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_an_agents_queue_page_has_a_fixed_cost(
    client: Client, agent: Any, django_assert_num_queries: Any, params: dict
) -> None:
    client.force_login(agent)
    _cases(1, agent)
    with django_assert_num_queries(AGENT_PAGE):
        assert client.get(reverse("desk:queue"), params).status_code == 200
    _cases(40, agent)
    with django_assert_num_queries(AGENT_PAGE):
        response = client.get(reverse("desk:queue"), params)
    assert "There is no" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params", [*QUERIES, {"view": "all"}, {"view": "all", "team": "billing", "q": "noah"}]
)
def test_a_supervisors_queue_page_has_a_fixed_cost(
    client: Client, django_assert_num_queries: Any, params: dict
) -> None:
    rita = UserFactory(username="rita")
    AgentProfile.objects.create(user=rita, role=AgentProfile.Role.SUPERVISOR)
    client.force_login(rita)
    _cases(1, rita)
    with django_assert_num_queries(SUPERVISOR_PAGE):
        client.get(reverse("desk:queue"), params)
    _cases(40, rita)
    with django_assert_num_queries(SUPERVISOR_PAGE):
        client.get(reverse("desk:queue"), params)


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["mine", "unassigned", "teams", "waiting", "breached"])
def test_a_pushed_list_has_a_fixed_cost(
    agent: Any, django_assert_num_queries: Any, view: str
) -> None:
    scope = QueueScope(teams=("general",), own=("general",))
    query = QueueQuery(view=view, q="noah")
    user = agent if view == "mine" else None
    _cases(1, agent)
    with django_assert_num_queries(PUSHED_LIST):
        consumers.queue_fragment(user=user, scope=scope, query=query)
    _cases(40, agent)
    with django_assert_num_queries(PUSHED_LIST):
        consumers.queue_fragment(user=user, scope=scope, query=query)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [*QUERIES, {"view": "all"}, {"view": "all", "team": "billing", "q": "noah", "page": "2"}],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "default",
)
@pytest.mark.parametrize("supervisor", [False, True], ids=["agent", "supervisor"])
def test_every_pushed_view_filter_and_search_has_a_fixed_cost(
    agent: Any, django_assert_num_queries: Any, params: dict, supervisor: bool
) -> None:
    """What the socket pushes, for each query a page can hold: the same cost as the page's
    own list, whatever the filters (the supervisor's "All teams" view among them)."""
    if params.get("view") == "all" and not supervisor:
        pytest.skip("All teams is a supervisor's view")
    if supervisor:
        scope = QueueScope(teams=None, own=())
    else:
        scope = QueueScope(teams=("general",), own=("general",))
    query = QueueQuery(**{**params, "page": int(params.get("page", 1))})
    user = agent if query.view == "mine" else None
    _cases(1, agent)
    with django_assert_num_queries(PUSHED_LIST):
        consumers.queue_fragment(user=user, scope=scope, query=query)
    _cases(40, agent)
    with django_assert_num_queries(PUSHED_LIST):
        consumers.queue_fragment(user=user, scope=scope, query=query)
