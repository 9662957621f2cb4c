"""Drafted actions the policy refuses, on the case page: no Approve for a denied draft but an
Edit, arguments errors that name the field, and a refused run that stays editable."""

from __future__ import annotations

import json
from decimal import Decimal

from actions.models import AuditEntry, DraftedAction
from actions.services import action_draft
from tests.conftest import Desk
from tests.desk.conftest import HTMX, fragment


def denied_draft(desk: Desk, amount: str = "5000.00") -> DraftedAction:
    return action_draft(
        tool="refund_payment",
        args={"order_id": desk.store.delivered.order_id, "amount": amount, "reason": "defective"},
        drafted_by="ai",
        account_id=desk.store.customer.customer_id,
        conversation=desk.case.conversation,
        case=desk.case,
    )


def card(html: str, action: DraftedAction) -> str:
    start = html.index(f'id="action-{action.pk}"')
    return html[start : html.index("</article>", start)]


def test_a_denied_draft_offers_edit_not_approve_and_says_why(desk: Desk) -> None:
    drafted = denied_draft(desk)
    assert drafted.decision["decision"] == "deny"
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    denied = card(html, drafted)
    assert 'class="approve"' not in denied
    assert "Approve edited" in denied
    assert "The refund is more than what was paid" in denied
    assert "cannot be approved as drafted" in denied
    # More than the order can give back goes nowhere: no destination is shown for it.
    assert "Goes to:" not in denied
    # The allowed draft beside it keeps its Approve.
    assert 'class="approve"' in card(html, desk.drafted)


def test_a_denied_draft_approved_unchanged_stays_editable_and_runs_once_fixed(
    desk: Desk,
) -> None:
    drafted = denied_draft(desk)
    desk.client.post(desk.url("take"))
    url = desk.url("approve", action_id=drafted.pk)
    html = fragment(desk.client.post(url, {"args": json.dumps(drafted.args)}, headers=HTMX))
    assert "refund_payment was not run: The refund is more than what was paid" in html
    drafted.refresh_from_db()
    assert drafted.status == DraftedAction.Status.DRAFTED
    assert "Approve edited" in card(html, drafted)
    assert desk.refunds() == []
    assert drafted.audit.filter(kind=AuditEntry.Kind.DENIED).count() == 1

    fixed = {**drafted.args, "amount": "60.00"}
    html = fragment(desk.client.post(url, {"args": json.dumps(fixed)}, headers=HTMX))
    assert "refund_payment done." in html
    drafted.refresh_from_db()
    assert drafted.status == DraftedAction.Status.EXECUTED
    assert desk.refunds() == [Decimal("60.00")]


def test_a_failed_action_can_be_edited_and_retried_from_the_page(desk: Desk) -> None:
    DraftedAction.objects.filter(pk=desk.drafted.pk).update(status=DraftedAction.Status.FAILED)
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert desk.url("approve") in card(html, desk.drafted)
    desk.client.post(desk.url("approve"), {"args": json.dumps(desk.drafted.args)})
    desk.drafted.refresh_from_db()
    assert desk.drafted.status == DraftedAction.Status.EXECUTED


def test_invalid_arguments_are_named_and_the_edit_is_kept(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    edited = json.dumps({**desk.drafted.args, "amount": "40.005"})
    html = fragment(desk.client.post(desk.url("approve"), {"args": edited}, headers=HTMX))
    assert "amount: a positive amount with at most 2 decimals" in html
    assert "The action&#x27;s arguments are not valid: amount:" in html
    # What the agent typed is in the form again, not the draft's own arguments.
    assert "40.005" in card(html, desk.drafted)
    desk.drafted.refresh_from_db()
    assert desk.drafted.status == DraftedAction.Status.DRAFTED
    assert desk.refunds() == []
