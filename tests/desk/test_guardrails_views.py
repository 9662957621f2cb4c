"""The supervisors' guardrail pages (desk/guardrails.py): who may open them, the two-step
edit (preview, then save), errors shown and nothing saved, rollback, and pinned queries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.models import Actor, AuthorityLimit, AuthorityLimitVersion
from escalation.models import AgentProfile, Rule, RuleVersion, SupervisorAudit
from escalation.rules import DEFAULT_RULES
from tests.desk.conftest import HTMX
from tests.factories import agent_user

TURNS_3 = {"all": [{"field": "customer_turns", "op": ">=", "value": 3}]}
PAGES = [
    ("desk:rules", []),
    ("desk:rule", ["RULE"]),
    ("desk:limits", []),
    ("desk:limit", ["ai"]),
]


@pytest.fixture
def rules(db: None) -> list[Rule]:
    """The default rules (migrations seed them; make sure, as tests/escalation does)."""
    for spec in DEFAULT_RULES:
        Rule.objects.get_or_create(
            code=spec.code,
            defaults={"name": spec.name, "condition": spec.condition, "priority": spec.priority},
        )
    return list(Rule.objects.all())


@pytest.fixture
def asks(rules: list[Rule]) -> Rule:
    return Rule.objects.get(code="customer-asks-for-person")


@pytest.fixture
def rita(db: None) -> Client:
    client = Client()
    client.force_login(agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita"))
    return client


def url(name: str, args: list[Any], rule: Rule) -> str:
    return reverse(name, args=[rule.pk if a == "RULE" else a for a in args])


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_only_supervisors_open_the_pages(
    client: Client, asks: Rule, name: str, args: list[Any]
) -> None:
    page = url(name, args, asks)
    anonymous = client.get(page)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))

    client.force_login(agent_user(username="maya"))
    assert client.get(page).status_code == 403

    client.force_login(agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita"))
    assert client.get(page).status_code == 200


def test_agents_cannot_write(client: Client, asks: Rule) -> None:
    client.force_login(agent_user(username="maya"))
    for name in ("desk:rule_preview", "desk:rule_save", "desk:rule_rollback"):
        answer = client.post(reverse(name, args=[asks.pk]), {"condition": json.dumps(TURNS_3)})
        assert answer.status_code == 403
    answer = client.post(reverse("desk:limit_save", args=["ai"]), {"max_refund": "9999"})
    assert answer.status_code == 403
    assert not RuleVersion.objects.exists() and not AuthorityLimitVersion.objects.exists()


def test_the_list_shows_each_rule_with_its_firings(rita: Client, asks: Rule) -> None:
    html = rita.get(reverse("desk:rules")).content.decode()
    assert asks.name in html
    assert reverse("desk:rule", args=[asks.pk]) in html
    assert "Cases opened" in html and "Holds now" in html


def rules_page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("desk:rules")).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_for_more_rules(rita: Client, rules: list[Rule]) -> None:
    few = rules_page_queries(rita)
    for n in range(30):
        Rule.objects.create(code=f"extra-{n}", name=f"Extra {n}", condition=TURNS_3)
    assert rules_page_queries(rita) == few
    # The session, the user, the profile (agent, then supervisor), the approvals badge, and
    # the rules with their firings (two).
    assert few == 7


def test_a_bad_condition_is_shown_and_nothing_is_saved(rita: Client, asks: Rule) -> None:
    data = {"condition": '{"all": [{"field": "mood"', "priority": "80", "team": "general"}
    for name in ("desk:rule_preview", "desk:rule_save"):
        answer = rita.post(reverse(name, args=[asks.pk]), data, headers=HTMX)
        html = answer.content.decode()
        assert answer.status_code == 200
        assert html.lstrip().startswith('<section id="rule-editor"')
        assert "Not JSON: Expecting" in html
        # What was typed stays in the box.
        assert "{&quot;all&quot;: [{&quot;field&quot;: &quot;mood&quot;" in html
    asks.refresh_from_db()
    assert asks.condition != TURNS_3
    assert not RuleVersion.objects.exists() and not SupervisorAudit.objects.exists()


def test_an_unknown_field_is_named(rita: Client, asks: Rule) -> None:
    data = {
        "condition": '{"all": [{"field": "mood", "op": ">=", "value": 1}]}',
        "priority": "500",
        "team": "general",
    }
    html = rita.post(reverse("desk:rule_preview", args=[asks.pk]), data).content.decode()
    assert "Unknown field &#x27;mood&#x27;" in html
    assert "A whole number from 0 to 100." in html
    assert "<html" in html  # without htmx, the whole page


def test_preview_then_save_then_roll_back(rita: Client, asks: Rule) -> None:
    data = {"condition": json.dumps(TURNS_3), "priority": "70", "team": "general"}
    preview = rita.post(reverse("desk:rule_preview", args=[asks.pk]), data, headers=HTMX)
    html = preview.content.decode()
    assert "Replay of the last 30 days" in html
    assert "Would now escalate" in html and "Would no longer escalate" in html
    assert "Save as version 2" in html
    assert not RuleVersion.objects.exists()

    saved = rita.post(
        reverse("desk:rule_save", args=[asks.pk]),
        {**data, "base_version": "1", "note": "three turns"},
        headers=HTMX,
    )
    assert saved.status_code == 200
    assert saved["HX-Redirect"] == reverse("desk:rule", args=[asks.pk])
    asks.refresh_from_db()
    assert (asks.condition, asks.priority) == (TURNS_3, 70)

    page = rita.get(reverse("desk:rule", args=[asks.pk])).content.decode()
    assert "Saved version 2" in page
    assert "three turns" in page
    assert "Roll back to v1" in page

    back = rita.post(reverse("desk:rule_rollback", args=[asks.pk]), {"number": "1"})
    assert back.status_code == 302
    asks.refresh_from_db()
    assert asks.priority == 80
    latest = RuleVersion.objects.filter(rule=asks).order_by("-number").first()
    assert latest is not None and (latest.number, latest.rolled_back_from) == (3, 1)
    assert SupervisorAudit.objects.count() == 2


def test_change_the_edit_goes_back_to_the_form_as_typed(rita: Client, asks: Rule) -> None:
    data = {"condition": json.dumps(TURNS_3), "priority": "70", "team": "general", "note": "n"}
    answer = rita.post(
        reverse("desk:rule_preview", args=[asks.pk]), {**data, "step": "edit"}, headers=HTMX
    )
    html = answer.content.decode()
    assert 'id="rule-condition"' in html and "customer_turns" in html
    assert 'value="70"' in html
    assert "Replay of the last" not in html


def test_a_stale_save_is_refused(rita: Client, asks: Rule) -> None:
    data = {"condition": json.dumps(TURNS_3), "priority": "70", "team": "general"}
    rita.post(reverse("desk:rule_save", args=[asks.pk]), {**data, "base_version": "1"})
    again = rita.post(
        reverse("desk:rule_save", args=[asks.pk]),
        {**data, "priority": "71", "base_version": "1"},
        headers=HTMX,
    )
    assert "Someone saved version 2 since your preview" in again.content.decode()
    assert RuleVersion.objects.filter(rule=asks).count() == 2


def test_a_get_on_a_write_is_refused(rita: Client, asks: Rule) -> None:
    assert rita.get(reverse("desk:rule_save", args=[asks.pk])).status_code == 405
    assert rita.get(reverse("desk:rule", args=[99999])).status_code == 404
    assert rita.get(reverse("desk:limit", args=["robot"])).status_code == 404


LIMITS = {
    "max_refund": "120",
    "max_refund_per_order": "100.00",
    "max_refund_per_conversation": "150.00",
    "max_refund_per_customer_day": "200.00",
    "max_subscription_age_days": "30",
    "may_write": "on",
}


def test_limits_preview_save_and_roll_back(rita: Client) -> None:
    preview = rita.post(reverse("desk:limit_preview", args=["ai"]), LIMITS, headers=HTMX)
    html = preview.content.decode()
    assert html.lstrip().startswith('<section id="limit-editor"')
    assert "What saving changes" in html
    assert "$100.00" in html and "$120.00" in html
    assert "The last 30 days under these limits" in html
    assert not AuthorityLimitVersion.objects.exists()

    saved = rita.post(reverse("desk:limit_save", args=["ai"]), {**LIMITS, "base_version": "1"})
    assert saved.status_code == 302
    assert str(AuthorityLimit.objects.get(actor=Actor.AI).max_refund) == "120.00"
    page = rita.get(reverse("desk:limit", args=["ai"])).content.decode()
    assert "Saved version 2" in page and "Roll back to v1" in page

    rita.post(reverse("desk:limit_rollback", args=["ai"]), {"number": "1"})
    assert str(AuthorityLimit.objects.get(actor=Actor.AI).max_refund) == "100.00"
    kinds = list(SupervisorAudit.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["authority_limit_update", "authority_limit_rollback"]


def test_a_bad_amount_is_shown_and_nothing_is_saved(rita: Client) -> None:
    for name in ("desk:limit_preview", "desk:limit_save"):
        answer = rita.post(
            reverse(name, args=["agent"]), {**LIMITS, "max_refund": "12.345"}, headers=HTMX
        )
        html = answer.content.decode()
        assert answer.status_code == 200
        assert "At most 2 decimal places." in html
        assert 'value="12.345"' in html
    assert not AuthorityLimitVersion.objects.exists()
    assert not SupervisorAudit.objects.exists()


def test_the_limits_page_costs_fixed_queries(rita: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        html = rita.get(reverse("desk:limits")).content.decode()
    assert "$500.00" in html  # the agent's default
    # Session, user, profile twice, approvals badge, limits and versions.
    assert len(queries) == 7
