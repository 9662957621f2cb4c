"""The queue at volume: what it sorts by, its views, filters, search and pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import CaseFactory

RANK = re.compile(r'<span class="rank"[^>]*>(\d+)</span>')


@pytest.mark.django_db
def test_the_number_shown_is_what_the_queue_sorts_by(client: Client, agent: Any) -> None:
    """A P94 case that has waited ten minutes sorts above a fresh P95 one: the queue shows
    the priority with its aging, so the numbers read in order."""
    now = timezone.now()
    older = CaseFactory(priority=94, now=now - timedelta(minutes=10))
    fresh = CaseFactory(priority=95, now=now)
    top = CaseFactory(priority=100, now=now - timedelta(minutes=1))
    client.force_login(agent)
    html = client.get(reverse("desk:queue")).content.decode()
    order = [int(pk) for pk in re.findall(r'id="case-(\d+)"', html)]
    assert order == [older.pk, top.pk, fresh.pk]
    ranks = [int(rank) for rank in RANK.findall(html)]
    assert ranks == sorted(ranks, reverse=True)
    assert ranks[0] >= 104 and ranks[-1] == 95
    # The base priority stays in sight beside the aging that raised it.
    assert "P94" in html and "P95" in html


def test_topics_read_as_words() -> None:
    from desk.templatetags.desk_text import topic_label

    assert topic_label("delivery_delay") == "Delivery delay"
    assert topic_label("product_question") == "Product question"
    assert topic_label("") == "Other"


@pytest.mark.django_db
def test_the_queue_is_a_dense_list_with_topics_as_words(client: Client, agent: Any) -> None:
    CaseFactory(topic="delivery_delay", team="general", conversation__customer_name="Noah Brown")
    client.force_login(agent)
    html = client.get(reverse("desk:queue")).content.decode()
    assert "Delivery delay" in html and not re.search(r">[^<]*delivery_delay", html)
    # One row a case, with the columns a person scans: a header names them.
    for column in ("Priority", "Customer", "Reason", "Team", "Assignee", "SLA", "Age"):
        assert f'<span role="columnheader">{column}</span>' in html
    assert "Noah Brown" in html


@pytest.mark.django_db
def test_the_case_page_shows_contact_topics_as_words(desk: Any) -> None:
    from tests.factories import PriorContactFactory

    PriorContactFactory(customer=desk.store.customer, topic="delivery_delay")
    html = desk.client.get(desk.url("case")).content.decode()
    assert "Delivery delay" in html and "delivery_delay" not in html


COUNT = re.compile(r'id="view-count-(\w+)">(\d+)<')


def _counts(html: str) -> dict[str, int]:
    return {view: int(n) for view, n in COUNT.findall(html)}


def _listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="case-(\d+)"', html)]


@pytest.fixture
def floor(agent: Any) -> dict[str, Any]:
    """Maya's floor: her case waiting on the customer, her case the customer answered, an
    unassigned case, a breached one, and a billing case she does not see."""
    from conversations.services import conversation_message_add
    from escalation.models import Case
    from tests.factories import EventFactory

    def reply(case: Case) -> None:
        conversation_message_add(
            conversation=case.conversation, role="agent", text="Done?", author="Maya"
        )

    now = timezone.now()
    waiting = CaseFactory(status=Case.Status.ASSIGNED, assignee=agent, first_response_at=now)
    EventFactory(conversation=waiting.conversation, role="customer")
    reply(waiting)
    answered = CaseFactory(status=Case.Status.ASSIGNED, assignee=agent, first_response_at=now)
    reply(answered)
    EventFactory(conversation=answered.conversation, role="customer")
    queued = CaseFactory(priority=50)
    breached = CaseFactory(priority=80, now=now - timedelta(minutes=30))
    billing = CaseFactory(team="billing")
    return {
        "waiting": waiting,
        "answered": answered,
        "queued": queued,
        "breached": breached,
        "billing": billing,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"waiting", "answered"}),
        ("unassigned", {"queued", "breached"}),
        ("teams", {"waiting", "answered", "queued", "breached"}),
        ("waiting", {"waiting"}),
        ("breached", {"breached"}),
    ],
)
def test_each_view_lists_its_cases_and_every_tab_counts_its_own(
    client: Client, agent: Any, floor: dict[str, Any], view: str, expected: set[str]
) -> None:
    client.force_login(agent)
    html = client.get(reverse("desk:queue"), {"view": view}).content.decode()
    assert set(_listed(html)) == {floor[name].pk for name in expected}
    assert _counts(html) == {"mine": 2, "unassigned": 2, "teams": 4, "waiting": 1, "breached": 1}
    assert f'id="view-{view}" class="current"' in html
    # The page's socket asks for the same view, so pushes redraw what the page shows.
    assert f'ws-connect="/ws/desk/queue/?view={view}"' in html


@pytest.mark.django_db
def test_all_teams_is_a_supervisors_view(client: Client, agent: Any, floor: dict) -> None:
    client.force_login(agent)
    response = client.get(reverse("desk:queue"), {"view": "all"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Only supervisors see every team&#x27;s queue" in html
    assert 'id="view-all"' not in html
    assert floor["billing"].pk not in _listed(html)


@pytest.mark.django_db
def test_a_supervisor_sees_every_team_by_default(client: Client, floor: dict) -> None:
    from escalation.models import AgentProfile
    from tests.factories import UserFactory

    rita = UserFactory(username="rita")
    AgentProfile.objects.create(user=rita, role=AgentProfile.Role.SUPERVISOR)
    client.force_login(rita)
    html = client.get(reverse("desk:queue")).content.decode()
    assert 'id="view-all" class="current"' in html
    assert set(_listed(html)) == {case.pk for case in floor.values()}
    assert _counts(html)["all"] == 5 and _counts(html)["mine"] == 0


@pytest.mark.django_db
def test_a_pushed_list_counts_every_view_for_a_supervisor_on_no_team(floor: dict) -> None:
    """The push every supervisor's page shares (no user): the counts are the page's, not all
    0 (an empty "My teams" once made the counts' one aggregate skip its query)."""
    from desk.consumers import queue_fragment
    from desk.selectors import QueueQuery, QueueScope

    html = queue_fragment(
        user=None, scope=QueueScope(teams=None, own=()), query=QueueQuery(view="all")
    )
    counts = _counts(html)
    assert counts == {"unassigned": 3, "teams": 0, "all": 5, "waiting": 1, "breached": 1}
    assert set(_listed(html)) == {case.pk for case in floor.values()}


@pytest.mark.django_db
def test_an_unknown_view_gets_a_message_not_an_error(client: Client, agent: Any) -> None:
    client.force_login(agent)
    response = client.get(reverse("desk:queue"), {"view": "<b>everything</b>"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no “&lt;b&gt;everything&lt;/b&gt;” view on your queue" in html
    assert 'id="view-teams" class="current"' in html


@pytest.fixture
def shelf(db: None) -> dict[str, Any]:
    """Cases to filter and search: teams, topics, priorities, statuses and customers."""
    from conversations.models import CustomerRef
    from escalation.models import Case
    from tests.factories import CustomerFactory, OrderFactory, UserFactory

    leo = UserFactory(username="leo")
    shopper = CustomerFactory(email="ines.moreau@example.com")
    OrderFactory(customer=shopper, order_id="#W7654321", paid_with=False)
    refund = CaseFactory(
        topic="refund",
        priority=80,
        conversation__customer_name="Ines Moreau",
        conversation__external_id="web-ines",
        conversation__account_id=shopper.customer_id,
    )
    CustomerRef.objects.filter(conversations__cases=refund).update(email=shopper.email)
    return {
        "refund": refund,
        "billing": CaseFactory(team="billing", topic="billing", priority=45),
        "fraud": CaseFactory(
            team="billing", topic="fraud", priority=30, status=Case.Status.ASSIGNED, assignee=leo
        ),
        "plain": CaseFactory(topic="", priority=60, conversation__external_id="sim-00042"),
    }


@pytest.fixture
def rita(client: Client, db: None) -> Any:
    from escalation.models import AgentProfile
    from tests.factories import UserFactory

    user = UserFactory(username="rita")
    AgentProfile.objects.create(user=user, role=AgentProfile.Role.SUPERVISOR)
    client.force_login(user)
    return user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"team": "billing"}, {"billing", "fraud"}),
        ({"topic": "fraud"}, {"fraud"}),
        ({"topic": "other"}, {"plain"}),
        ({"priority": "high"}, {"refund"}),
        ({"priority": "normal"}, {"billing", "plain"}),
        ({"status": "assigned"}, {"fraud"}),
        ({"team": "billing", "priority": "low"}, {"fraud"}),
        ({"q": "ines mor"}, {"refund"}),
        ({"q": "INES.MOREAU@example"}, {"refund"}),
        ({"q": "W7654321"}, {"refund"}),
        ({"q": "#W7654321"}, {"refund"}),
        ({"q": "sim-00042"}, {"plain"}),
        ({"q": "nobody-like-this"}, set()),
        ({"view": "unassigned", "team": "billing"}, {"billing"}),
    ],
)
def test_filters_and_search_narrow_the_view(
    client: Client, rita: Any, shelf: dict[str, Any], params: dict, expected: set[str]
) -> None:
    html = client.get(reverse("desk:queue"), params).content.decode()
    assert set(_listed(html)) == {shelf[name].pk for name in expected}
    # The tabs keep the filters, so switching views keeps what was asked for.
    for name, value in params.items():
        if name != "view":
            assert (
                f"{name}={value.replace(' ', '+').replace('#', '%23').replace('@', '%40')}" in html
            )
    # The tabs count whole views: the header counts what matches.
    assert _counts(html)["all"] == 4
    assert f'id="queue-count" title="Cases matching the filters">{len(expected)}<' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"priority": "urgent"}, "Priority is high, normal or low, not “urgent”"),
        ({"status": "resolved"}, "Status is queued or assigned, not “resolved”"),
        ({"team": "billing"}, "You do not work the “billing” team"),
        ({"topic": "<script>"}, "“&lt;script&gt;” is not a topic name"),
        ({"q": "x" * 101}, "A search is at most 100 characters"),
    ],
)
def test_a_bad_filter_gets_a_clear_message_and_the_rest_still_applies(
    client: Client, agent: Any, shelf: dict[str, Any], params: dict, message: str
) -> None:
    client.force_login(agent)
    response = client.get(reverse("desk:queue"), {**params, "view": "teams"})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    # Maya works general: the bad part is dropped, her view is shown unfiltered.
    assert set(_listed(html)) == {shelf["refund"].pk, shelf["plain"].pk}


@pytest.mark.django_db
def test_what_was_typed_in_the_search_stays_in_the_box(client: Client, agent: Any) -> None:
    client.force_login(agent)
    typed = "y" * 101
    html = client.get(reverse("desk:queue"), {"q": typed}).content.decode()
    assert f'value="{typed}"' in html


def _many(n: int) -> list[int]:
    """n queued cases, most urgent first (each a minute older than the next)."""
    now = timezone.now()
    cases = [CaseFactory(now=now - timedelta(minutes=n - i)) for i in range(n)]
    return [case.pk for case in cases]


@pytest.mark.django_db
def test_the_queue_pages_through_every_case_most_urgent_first(client: Client, agent: Any) -> None:
    from desk.selectors import QUEUE_PAGE_SIZE

    pks = _many(2 * QUEUE_PAGE_SIZE + 7)
    client.force_login(agent)
    seen: list[int] = []
    for page in (1, 2, 3):
        html = client.get(reverse("desk:queue"), {"view": "teams", "page": page}).content.decode()
        seen += _listed(html)
        assert f'<span class="current" aria-current="page">{page}</span>' in html
    assert seen == pks
    first, total = 2 * QUEUE_PAGE_SIZE + 1, len(pks)
    assert f"Showing {first}\u2013{total} of {total}, most urgent first." in html
    assert 'ws-connect="/ws/desk/queue/?view=teams&amp;page=3"' in html
    # A page past the end (cases closed meanwhile) shows the last one.
    html = client.get(reverse("desk:queue"), {"page": 9}).content.decode()
    assert _listed(html) == pks[2 * QUEUE_PAGE_SIZE :]


@pytest.mark.django_db
def test_a_bad_page_says_so_and_shows_the_first(client: Client, agent: Any) -> None:
    pks = _many(3)
    client.force_login(agent)
    for bad, message in (("two", "The page is a number"), ("0", "Pages start at 1")):
        html = client.get(reverse("desk:queue"), {"page": bad}).content.decode()
        assert message in html
        assert _listed(html) == pks


@pytest.mark.django_db
def test_a_deadline_under_a_minute_away_says_so(client: Client, agent: Any) -> None:
    CaseFactory(priority=80, now=timezone.now() - timedelta(minutes=4, seconds=30))
    CaseFactory(priority=80, now=timezone.now() - timedelta(minutes=5, seconds=30))
    client.force_login(agent)
    html = client.get(reverse("desk:queue")).content.decode()
    assert "in under a minute" in html and "in 0 minutes" not in html
    assert "just overdue" in html and "overdue 0 minutes" not in html
