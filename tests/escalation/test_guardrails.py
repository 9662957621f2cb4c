"""Guardrails a supervisor edits (escalation/guardrails.py): a rule edit is parsed, previewed
by replaying the last 30 days, saved as a new version with an audit row, and rolled back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conversations.models import Conversation, Integration
from conversations.services import events_ingest
from escalation.guardrails import (
    GuardrailInvalid,
    RuleEdit,
    rule_edit_parse,
    rule_preview,
    rule_rollback,
    rule_update,
    rules_overview,
)
from escalation.models import Case, ConversationState, Rule, RuleVersion, SupervisorAudit
from escalation.services import rules_active
from tests.escalation.conftest import say
from tests.factories import CaseFactory, UserFactory

ASKS = "rule-asks"


@pytest.fixture
def asks(rules: list[Rule]) -> Rule:
    return Rule.objects.get(code="customer-asks-for-person")


@pytest.fixture
def rita(db: None) -> Any:
    return UserFactory(username="rita")


def edit_of(rule: Rule, **changes: Any) -> RuleEdit:
    fields = {"condition": rule.condition, "priority": rule.priority, "team": rule.team}
    return RuleEdit(**{**fields, **changes})


TURNS_3 = {"all": [{"field": "customer_turns", "op": ">=", "value": 3}]}


# --- parsing ---------------------------------------------------------------------------


def test_a_good_edit_parses(rules: list[Rule]) -> None:
    edit = rule_edit_parse(
        condition='{"any": [{"field": "risk", "op": ">=", "value": 0.5}]}',
        priority=" 70 ",
        team="general",
    )
    assert edit == RuleEdit({"any": [{"field": "risk", "op": ">=", "value": 0.5}]}, 70, "general")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('{"all": [', "Not JSON: Expecting value (line 1, column 10)."),
        ("[1, 2]", "A condition is an object."),
        ('{"all": []}', "'all' needs a non-empty list of clauses."),
        ('{"all": [{"field": "mood", "op": ">=", "value": 1}]}', "Unknown field 'mood'"),
        ('{"all": [{"field": "risk", "op": ">=", "value": "high"}]}', "compares a numeric"),
        ('{"all": [{"field": "risk", "op": ">=", "value": NaN}]}', "Not JSON"),
    ],
)
def test_a_bad_condition_names_what_is_wrong(
    rules: list[Rule], condition: str, message: str
) -> None:
    with pytest.raises(GuardrailInvalid) as caught:
        rule_edit_parse(condition=condition, priority="50", team="general")
    assert message in caught.value.errors["condition"]
    assert set(caught.value.errors) == {"condition"}


@pytest.mark.parametrize("depth", [3000, 100_000])
def test_a_deep_condition_is_refused_not_crashed(rules: list[Rule], depth: int) -> None:
    deep = '{"all": [' * depth + "]}" * depth
    with pytest.raises(GuardrailInvalid) as caught:
        rule_edit_parse(condition=deep, priority="50", team="general")
    assert caught.value.errors["condition"] == "The condition nests too deeply."


def test_priority_and_team_are_checked_together(rules: list[Rule]) -> None:
    with pytest.raises(GuardrailInvalid) as caught:
        rule_edit_parse(condition="{}", priority="101", team="nobody")
    assert set(caught.value.errors) == {"condition", "priority", "team"}
    assert caught.value.errors["team"] == "No team 'nobody'."
    for priority in ("-1", "5.5", "", "ten"):
        with pytest.raises(GuardrailInvalid):
            rule_edit_parse(condition=TURNS_JSON, priority=priority, team="general")


TURNS_JSON = '{"all": [{"field": "customer_turns", "op": ">=", "value": 3}]}'


# --- versions, audit, rollback -----------------------------------------------------------


def test_the_first_save_seeds_version_one_and_audits(asks: Rule, rita: Any) -> None:
    before = {"condition": asks.condition, "priority": asks.priority, "team": asks.team}
    version = rule_update(
        rule_id=asks.pk, edit=edit_of(asks, condition=TURNS_3, priority=70), by=rita, note="why"
    )

    assert version.number == 2
    seeded, saved = RuleVersion.objects.filter(rule=asks).order_by("number")
    assert (seeded.number, seeded.snapshot, seeded.created_by) == (1, before, None)
    assert saved.snapshot == {"condition": TURNS_3, "priority": 70, "team": "general"}
    assert (saved.created_by, saved.note, saved.rolled_back_from) == (rita, "why", None)
    asks.refresh_from_db()
    assert (asks.condition, asks.priority) == (TURNS_3, 70)
    (audit,) = SupervisorAudit.objects.all()
    assert (audit.kind, audit.by) == ("rule_update", rita)
    assert audit.data == {
        "rule": asks.code,
        "version": 2,
        "before": before,
        "after": saved.snapshot,
    }


def test_the_engine_reads_the_saved_rule_at_once(asks: Rule, rita: Any) -> None:
    rule_update(rule_id=asks.pk, edit=edit_of(asks, condition=TURNS_3, team="general"), by=rita)
    (spec,) = [s for s in rules_active() if s.code == asks.code]
    assert spec.condition == TURNS_3


def test_a_rollback_is_a_new_version_from_an_older_one(asks: Rule, rita: Any) -> None:
    original = asks.condition
    rule_update(rule_id=asks.pk, edit=edit_of(asks, condition=TURNS_3), by=rita)
    rule_update(rule_id=asks.pk, edit=edit_of(asks, condition=TURNS_3, priority=90), by=rita)

    version = rule_rollback(rule_id=asks.pk, number=1, by=rita)

    assert (version.number, version.rolled_back_from) == (4, 1)
    assert version.note == "Rolled back to version 1."
    asks.refresh_from_db()
    assert (asks.condition, asks.priority) == (original, 80)
    assert list(RuleVersion.objects.filter(rule=asks).values_list("number", flat=True)) == [
        4,
        3,
        2,
        1,
    ]
    audit = SupervisorAudit.objects.order_by("-id").first()
    assert audit is not None
    assert (audit.kind, audit.data["rolled_back_from"], audit.data["version"]) == (
        "rule_rollback",
        1,
        4,
    )
    assert audit.data["before"]["priority"] == 90


def test_refusals_change_nothing(asks: Rule, rita: Any) -> None:
    with pytest.raises(GuardrailInvalid, match="Nothing changed"):
        rule_update(rule_id=asks.pk, edit=edit_of(asks), by=rita)
    rule_update(rule_id=asks.pk, edit=edit_of(asks, priority=81), by=rita)
    # Someone saved version 2 after this supervisor's preview of version 1.
    with pytest.raises(GuardrailInvalid, match="Someone saved version 2"):
        rule_update(rule_id=asks.pk, edit=edit_of(asks, priority=82), by=rita, base_version=1)
    with pytest.raises(GuardrailInvalid, match="No version 9"):
        rule_rollback(rule_id=asks.pk, number=9, by=rita)
    with pytest.raises(GuardrailInvalid, match="already as in version 2"):
        rule_rollback(rule_id=asks.pk, number=2, by=rita)
    assert RuleVersion.objects.filter(rule=asks).count() == 2
    assert SupervisorAudit.objects.count() == 1
    asks.refresh_from_db()
    assert asks.priority == 81


# --- how often each fired ------------------------------------------------------------------


def test_firings_count_cases_opened_and_conditions_holding(
    asks: Rule, django_assert_num_queries: Any
) -> None:
    risk = Rule.objects.get(code="high-risk")
    recent = CaseFactory(rule=asks)
    CaseFactory(rule=asks)
    old = CaseFactory(rule=asks)
    Case.objects.filter(pk=old.pk).update(queued_at=timezone.now() - timedelta(days=8))
    ConversationState.objects.create(
        conversation=recent.conversation, rules_fired=[asks.code, risk.code]
    )

    with django_assert_num_queries(2):
        rows = {row.rule.code: row for row in rules_overview()}

    assert (rows[asks.code].cases_opened, rows[asks.code].holding) == (2, 1)
    assert (rows[risk.code].cases_opened, rows[risk.code].holding) == (0, 1)
    assert rows[asks.code].version == 1
    assert list(rows) == list(Rule.objects.order_by("order", "id").values_list("code", flat=True))


def test_the_firings_cost_the_same_for_more_rules(
    rules: list[Rule], django_assert_num_queries: Any
) -> None:
    for n in range(20):
        Rule.objects.create(code=f"extra-{n}", name="x", condition=TURNS_3)
    with django_assert_num_queries(2):
        assert len(rules_overview()) == len(rules) + 20


# --- the replay preview --------------------------------------------------------------------


@pytest.fixture
def history(
    integration: tuple[Integration, str], asks: Rule, django_capture_on_commit_callbacks: Any
) -> dict[str, Conversation]:
    """Two conversations the live engine saw: one where the customer asked for a person at
    once (a case), one with three calm questions (no case)."""
    bot = integration[0]
    for events in (
        [say("asked", 1, "Let me talk to a real person.")],
        [
            say("calm", 1, "Does this jacket come in blue?"),
            say("calm", 2, "Yes, it does.", role="ai"),
            say("calm", 3, "And in green?"),
            say("calm", 4, "Also yes.", role="ai"),
            say("calm", 5, "Great, and in red?"),
        ],
    ):
        with django_capture_on_commit_callbacks(execute=True):
            events_ingest(integration=bot, raw_events=events)
    return {c.external_id: c for c in Conversation.objects.all()}


def test_the_preview_shows_who_would_now_and_no_longer_escalate(
    history: dict[str, Conversation], asks: Rule
) -> None:
    asked_case = Case.objects.get(conversation=history["asked"])
    assert asked_case.rule == asks
    assert not Case.objects.filter(conversation=history["calm"]).exists()

    preview = rule_preview(rule=asks, edit=edit_of(asks, condition=TURNS_3))

    report = preview.report
    assert report.conversations == 2
    assert (report.would_escalate, report.actual_cases) == (1, 1)
    assert (report.new, report.dropped) == (1, 1)
    (new,) = report.new_examples
    assert (new.conversation_id, new.external_id, new.case_id) == (history["calm"].pk, "calm", None)
    (dropped,) = report.dropped_examples
    assert (dropped.external_id, dropped.case_id) == ("asked", asked_case.pk)
    (row,) = [r for r in report.rules if r.code == asks.code]
    assert (row.fired, row.lead, row.actual) == (1, 1, 1)
    assert preview.base_version == 1
    assert not preview.unchanged
    # A preview writes nothing.
    asks.refresh_from_db()
    assert asks.condition != TURNS_3
    assert not RuleVersion.objects.exists()


def test_the_preview_of_the_saved_rule_matches_what_happened(
    history: dict[str, Conversation], asks: Rule
) -> None:
    preview = rule_preview(rule=asks, edit=edit_of(asks))
    assert preview.unchanged
    report = preview.report
    assert (report.would_escalate, report.new, report.dropped) == (1, 0, 0)
    assert report.new_examples == report.dropped_examples == []


def test_a_change_made_in_the_admin_is_kept_as_a_version(asks: Rule, rita: Any) -> None:
    rule_update(rule_id=asks.pk, edit=edit_of(asks, priority=70), by=rita)
    Rule.objects.filter(pk=asks.pk).update(priority=40)  # the admin's save, unversioned

    # The page shows version 2, the last saved: the save goes through on it.
    version = rule_update(rule_id=asks.pk, edit=edit_of(asks, priority=60), by=rita, base_version=2)

    assert version.number == 4
    outside = RuleVersion.objects.get(rule=asks, number=3)
    assert outside.snapshot["priority"] == 40
    assert outside.note == "As changed outside the desk (in the admin)."
    assert rule_rollback(rule_id=asks.pk, number=3, by=rita).snapshot["priority"] == 40
