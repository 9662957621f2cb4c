"""The same customer's cases, linked: the other open and recent cases on the case page and a
marker on the queue card, counted among the contacts of the last 30 days, and a merge that
keeps both transcripts, audited on both timelines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conversations.models import Conversation, CustomerRef, Integration
from desk.cards import queue_cards
from desk.selectors import QueueQuery, queue_for_agent, queue_scope
from escalation.cases.access import CaseAccessError
from escalation.cases.related import case_merge, case_related, cases_related_open
from escalation.models import AgentProfile, Case, CaseEvent
from tests.factories import AgentProfileFactory, CaseFactory, EventFactory


@pytest.fixture
def bot(integration: tuple[Integration, str]) -> Integration:
    return integration[0]


def case_of(bot: Integration, *, email: str, text: str, **fields: Any) -> Case:
    ref = CustomerRef.objects.create(integration=bot, name="Dana Reyes", email=email)
    case = CaseFactory(conversation__integration=bot, conversation__customer=ref, **fields)
    EventFactory(conversation=case.conversation, text=text)
    return case


def page(user: Any, case: Case) -> str:
    client = Client()
    client.force_login(user)
    return client.get(reverse("desk:case", kwargs={"case_id": case.pk})).content.decode()


def test_the_customers_other_open_and_recent_cases_are_linked(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    one = case_of(bot, email="dana@example.com", text="Where is my parcel?")
    two = case_of(bot, email="Dana@Example.com", text="And I was charged twice.")
    old = case_of(bot, email="dana@example.com", text="Old", status=Case.Status.RESOLVED)
    Case.objects.filter(pk=old.pk).update(queued_at=timezone.now() - timedelta(days=40))
    recent = case_of(bot, email="dana@example.com", text="Recent", status=Case.Status.RESOLVED)
    stranger = case_of(bot, email="someone@example.com", text="Hi")

    related = case_related(case=one, user=maya)

    assert [r.pk for r in related.cases] == [recent.pk, two.pk]
    assert [r.pk for r in related.open] == [two.pk]
    html = page(maya, one)
    assert "This customer&#x27;s other cases" in html or "This customer's other cases" in html
    assert f"Case {two.pk}" in html and f"Case {recent.pk}" in html
    assert f"Case {stranger.pk}" not in html and f"Case {old.pk}" not in html
    assert "1 other open case for this customer." in html

    cards = {
        c.pk: c
        for c in queue_cards(
            queue_for_agent(user=maya, scope=queue_scope(user=maya), query=QueueQuery())
        )
    }
    assert (cards[one.pk].related_open, cards[two.pk].related_open) == (1, 1)
    assert cards[stranger.pk].related_open == 0
    client = Client()
    client.force_login(maya)
    queue = client.get(reverse("desk:queue")).content.decode()
    assert queue.count('class="related-marker"') == 2  # on one's card and two's
    assert "+1 open" in queue


def test_contacts_of_the_last_30_days_count_the_desks_own_cases(desk: Any) -> None:
    other = CaseFactory(
        conversation__integration=desk.bot,
        conversation__account_id=desk.case.conversation.account_id,
    )
    html = page(desk.maya, desk.case)
    contacts = html.split("Contacts in the last 30 days", 1)[1].split("</ul>", 1)[0]
    assert f"case {other.pk}" in contacts
    assert "None." not in contacts


def test_merging_keeps_both_transcripts_and_is_on_both_timelines(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    stays = case_of(bot, email="dana@example.com", text="Where is my parcel?")
    goes = case_of(bot, email="dana@example.com", text="Also I was charged twice for it.")
    Case.objects.filter(pk__in=[stays.pk, goes.pk]).update(
        status=Case.Status.ASSIGNED, assignee=maya
    )

    client = Client()
    client.force_login(maya)
    response = client.post(reverse("desk:merge", kwargs={"case_id": goes.pk}), {"into": stays.pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("desk:case", kwargs={"case_id": stays.pk})
    goes.refresh_from_db()
    assert (goes.status, goes.outcome, goes.merged_into) == (
        Case.Status.RESOLVED,
        Case.Outcome.MERGED,
        stays,
    )
    assert Case.objects.get(pk=stays.pk).status == Case.Status.ASSIGNED
    assert [t.line for t in goes.timeline.filter(kind=CaseEvent.Kind.MERGED)] == [
        f"Maya merged this case into case {stays.pk}"
    ]
    assert stays.timeline.get(kind=CaseEvent.Kind.MERGED).data == {"from": goes.pk}
    html = page(maya, stays)
    assert "Also I was charged twice for it." in html  # the merged transcript
    assert "Where is my parcel?" in html
    assert f"Transcript of case {goes.pk}" in html


def test_a_merge_is_refused_across_customers_and_for_someone_elses_case(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    leo = AgentProfileFactory(user__username="leo").user
    mine = case_of(bot, email="dana@example.com", text="One", status=Case.Status.ASSIGNED)
    Case.objects.filter(pk=mine.pk).update(assignee=maya)
    theirs = case_of(bot, email="dana@example.com", text="Two", status=Case.Status.ASSIGNED)
    Case.objects.filter(pk=theirs.pk).update(assignee=leo)
    stranger = case_of(bot, email="x@example.com", text="Three", status=Case.Status.ASSIGNED)
    Case.objects.filter(pk=stranger.pk).update(assignee=maya)

    with pytest.raises(CaseAccessError, match="Leo has case"):
        case_merge(case_id=theirs.pk, into_id=mine.pk, user=maya)
    with pytest.raises(ValueError, match="not of the same customer"):
        case_merge(case_id=stranger.pk, into_id=mine.pk, user=maya)
    assert set(Case.objects.values_list("status", flat=True)) == {Case.Status.ASSIGNED}
    # The page says why there is no merge button for Leo's case.
    html = page(maya, mine)
    assert "Leo has case" in html
    rita = AgentProfileFactory(user__username="rita", role=AgentProfile.Role.SUPERVISOR).user
    case_merge(case_id=theirs.pk, into_id=mine.pk, user=rita)
    assert Case.objects.get(pk=theirs.pk).merged_into_id == mine.pk


def test_a_bad_merge_request_gets_a_clear_error(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    case = case_of(bot, email="dana@example.com", text="One", status=Case.Status.ASSIGNED)
    Case.objects.filter(pk=case.pk).update(assignee=maya)
    client = Client()
    client.force_login(maya)
    url = reverse("desk:merge", kwargs={"case_id": case.pk})

    response = client.post(url, {"into": "abc"}, follow=True)
    assert "Choose the case to merge into." in response.content.decode()
    response = client.post(url, {"into": case.pk}, follow=True)
    assert "cannot be merged into itself" in response.content.decode()
    assert Conversation.objects.count() == 1


def test_the_cards_related_counts_cost_one_query_for_any_number_of_cases(
    bot: Integration, django_assert_num_queries: Any
) -> None:
    for n in range(3):
        case_of(bot, email=f"c{n}@example.com", text="Hi")
    cases = list(Case.objects.select_related("conversation__customer"))
    with django_assert_num_queries(1):
        few = cases_related_open(cases=cases)
    for n in range(30):
        case_of(bot, email=f"c{n % 5}@example.com", text="Hi")
    cases = list(Case.objects.select_related("conversation__customer"))
    with django_assert_num_queries(1):
        many = cases_related_open(cases=cases)
    assert set(few.values()) == {0}
    assert max(many.values()) >= 6
