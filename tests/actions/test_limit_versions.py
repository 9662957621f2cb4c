"""Authority limits a supervisor edits: parsed from a form, saved as versions (audited by
escalation.guardrails), rolled back, and read by the policy at once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actions.limits import (
    LimitsInvalid,
    authority_limit_changes,
    authority_limit_current,
    authority_limit_parse,
    authority_limit_replay,
    authority_limits_overview,
)
from actions.models import Actor, AuditEntry, AuthorityLimit, AuthorityLimitVersion
from actions.services import DEFAULT_LIMITS, authority_limits
from escalation.guardrails import authority_limit_rollback, authority_limit_update
from escalation.models import SupervisorAudit
from tests.factories import UserFactory

FORM = {
    "max_refund": "150",
    "max_refund_per_order": "150.5",
    "max_refund_per_conversation": "",
    "max_refund_per_customer_day": "200.00",
    "max_subscription_age_days": "45",
    "may_write": "on",
}


@pytest.fixture
def rita(db: None) -> Any:
    return UserFactory(username="rita")


def test_a_form_parses_to_a_snapshot() -> None:
    assert authority_limit_parse(data=FORM) == {
        "max_refund": "150.00",
        "max_refund_per_order": "150.50",
        "max_refund_per_conversation": None,
        "max_refund_per_customer_day": "200.00",
        "max_subscription_age_days": 45,
        "may_write": True,
    }
    assert authority_limit_parse(data={})["may_write"] is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_refund", "-1", "cannot be negative"),
        ("max_refund", "1.005", "At most 2 decimal places"),
        ("max_refund", "ten", "Write an amount"),
        ("max_refund", "NaN", "Write an amount"),
        ("max_refund", "Infinity", "Write an amount"),
        ("max_refund_per_order", "1e20", "At most 9999999999.99"),
        ("max_subscription_age_days", "-3", "whole number of days"),
        ("max_subscription_age_days", "2.5", "whole number of days"),
    ],
)
def test_bad_boxes_are_named(field: str, value: str, message: str) -> None:
    with pytest.raises(LimitsInvalid) as caught:
        authority_limit_parse(data={**FORM, field: value})
    assert set(caught.value.errors) == {field}
    assert message in caught.value.errors[field]


def test_a_save_is_a_version_audited_and_read_by_the_policy(db: None, rita: Any) -> None:
    AuthorityLimit.objects.filter(actor=Actor.AI).delete()  # the defaults, as a missing row
    snapshot = authority_limit_parse(data=FORM)

    version = authority_limit_update(actor=Actor.AI, snapshot=snapshot, by=rita, note="busy week")

    assert (version.number, version.snapshot, version.created_by) == (2, snapshot, rita)
    seeded = AuthorityLimitVersion.objects.get(actor=Actor.AI, number=1)
    assert seeded.snapshot["max_refund"] == str(DEFAULT_LIMITS[Actor.AI]["max_refund"])
    assert seeded.created_by is None
    limit = authority_limits()[Actor.AI]
    assert limit.max_refund == Decimal("150.00")
    assert limit.max_refund_per_conversation is None
    assert limit.max_subscription_age_days == 45
    (audit,) = SupervisorAudit.objects.all()
    assert audit.kind == "authority_limit_update"
    assert audit.data["actor"] == "ai"
    assert audit.data["after"] == snapshot
    assert audit.data["before"]["max_refund"] == "100.00"


def test_a_rollback_restores_an_older_version_as_a_new_one(db: None, rita: Any) -> None:
    before = authority_limit_parse(data={**FORM, "max_refund": "100"})
    authority_limit_update(actor=Actor.AGENT, snapshot=before, by=rita)
    authority_limit_update(actor=Actor.AGENT, snapshot={**before, "may_write": False}, by=rita)
    assert authority_limits()[Actor.AGENT].may_write is False

    version = authority_limit_rollback(actor=Actor.AGENT, number=2, by=rita)

    assert (version.number, version.rolled_back_from) == (4, 2)
    assert authority_limits()[Actor.AGENT].may_write is True
    assert SupervisorAudit.objects.filter(kind="authority_limit_rollback").count() == 1


def test_refusals_change_nothing(db: None, rita: Any) -> None:
    current = authority_limit_parse(data=FORM)
    authority_limit_update(actor=Actor.AI, snapshot=current, by=rita)
    with pytest.raises(LimitsInvalid, match="Nothing changed"):
        authority_limit_update(actor=Actor.AI, snapshot=current, by=rita)
    with pytest.raises(LimitsInvalid, match="Someone saved version 2"):
        authority_limit_update(
            actor=Actor.AI, snapshot={**current, "max_refund": "1.00"}, by=rita, base_version=1
        )
    with pytest.raises(LimitsInvalid, match="No actor"):
        authority_limit_update(actor="robot", snapshot=current, by=rita)
    with pytest.raises(LimitsInvalid, match="No version 7"):
        authority_limit_rollback(actor=Actor.AI, number=7, by=rita)
    assert AuthorityLimitVersion.objects.filter(actor=Actor.AI).count() == 2
    assert SupervisorAudit.objects.count() == 1


def test_the_preview_says_what_changes(db: None) -> None:
    limit = authority_limit_current(actor=Actor.AI)
    snapshot = authority_limit_parse(
        data={
            "max_refund": "120",
            "max_refund_per_order": "100",
            "max_refund_per_conversation": "150",
            "max_refund_per_customer_day": "200",
            "max_subscription_age_days": "30",
            "may_write": "on",
        }
    )
    changes = authority_limit_changes(limit=limit, snapshot=snapshot)
    assert [(c.field, c.before, c.after) for c in changes] == [("max_refund", "100.00", "120.00")]


def test_the_overview_has_every_actor_in_two_queries(
    db: None, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):
        rows = authority_limits_overview()
    assert [limit.actor for limit, _ in rows] == ["ai", "agent", "supervisor"]
    assert all(version == 1 for _, version in rows)


def test_the_replay_names_executions_the_new_limits_would_have_stopped(
    db: None, django_assert_num_queries: Any
) -> None:
    def executed(amount: str | None, **totals: str) -> AuditEntry:
        return AuditEntry.objects.create(
            kind=AuditEntry.Kind.EXECUTED,
            actor=Actor.AI,
            tool="refund_payment",
            amount=Decimal(amount) if amount else None,
            totals=totals,
        )

    small = executed("20.00", order="20.00", conversation="20.00", customer_day="20.00")
    big = executed("90.00", order="90.00", conversation="90.00", customer_day="90.00")
    summed = executed("40.00", order="40.00", conversation="130.00", customer_day="130.00")
    executed(None)  # gave nothing back (a resend)
    AuditEntry.objects.create(
        kind=AuditEntry.Kind.HELD,
        actor=Actor.AI,
        tool="refund_payment",
        reasons=["over_authority_limit"],
    )
    AuditEntry.objects.create(
        kind=AuditEntry.Kind.DENIED,
        actor=Actor.AI,
        tool="refund_payment",
        reasons=["order_not_delivered"],
    )
    AuditEntry.objects.create(
        kind=AuditEntry.Kind.EXECUTED,
        actor=Actor.AGENT,
        tool="refund_payment",
        amount=Decimal("400.00"),
    )
    lower = authority_limit_parse(
        data={
            **FORM,
            "max_refund": "50",
            "max_refund_per_order": "80",
            "max_refund_per_conversation": "120",
        }
    )

    with django_assert_num_queries(2):
        replay = authority_limit_replay(actor=Actor.AI, snapshot=lower)

    assert (replay.executed, replay.stopped, replay.held_by_limits) == (4, 2, 1)
    assert [(e.entry_id, e.reasons) for e in replay.examples] == [
        (big.pk, ("over_authority_limit",)),
        (summed.pk, ("over_conversation_total_limit",)),
    ]
    assert small.pk not in [e.entry_id for e in replay.examples]
    assert "over this actor's limit" in replay.examples[0].message

    read_only = authority_limit_replay(actor=Actor.AI, snapshot={**lower, "may_write": False})
    assert read_only.stopped == 4


def test_a_change_made_in_the_admin_is_kept_as_a_version(db: None, rita: Any) -> None:
    snapshot = authority_limit_parse(data=FORM)
    authority_limit_update(actor=Actor.AI, snapshot=snapshot, by=rita)
    AuthorityLimit.objects.filter(actor=Actor.AI).update(max_refund=Decimal("75.00"))

    version = authority_limit_update(
        actor=Actor.AI, snapshot={**snapshot, "max_refund": "60.00"}, by=rita, base_version=2
    )

    assert version.number == 4
    outside = AuthorityLimitVersion.objects.get(actor=Actor.AI, number=3)
    assert outside.snapshot["max_refund"] == "75.00"
