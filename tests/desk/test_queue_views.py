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
    assert "Delivery delay" in html and "delivery_delay" not in html
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
