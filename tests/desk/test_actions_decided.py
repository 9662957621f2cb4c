"""Deciding drafted actions on the case page: a reject needs a reason and the card shows it;
the person whose click did not decide is told who did and when; what is still open and where
the money goes are shown truthfully."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from actions.models import AuditEntry, DraftedAction
from escalation.models import AgentProfile, HandoffPacket
from tests.conftest import Desk
from tests.desk.conftest import HTMX, fragment
from tests.factories import agent_user


@pytest.fixture
def rita(desk: Desk) -> tuple[Any, Client]:
    user = agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita")
    user.first_name, user.last_name = "Rita", "Ortiz"
    user.save()
    client = Client()
    client.force_login(user)
    return user, client


def card(html: str, action: DraftedAction) -> str:
    start = html.index(f'id="action-{action.pk}"')
    return html[start : html.index("</article>", start)]


def test_a_reject_without_a_reason_is_refused(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.post(desk.url("reject"), {"note": "  "}, headers=HTMX))
    assert "Say why you reject it; nothing was rejected." in html
    desk.drafted.refresh_from_db()
    assert desk.drafted.status == DraftedAction.Status.DRAFTED
    assert not desk.drafted.audit.filter(kind=AuditEntry.Kind.REJECTED).exists()
    assert 'name="note" maxlength="1000" required' in card(html, desk.drafted)


def test_the_card_shows_who_rejected_and_why(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.post(desk.url("reject"), {"note": "not owed"}, headers=HTMX))
    desk.drafted.refresh_from_db()
    name = desk.maya.get_full_name() or desk.maya.username
    shown = card(html, desk.drafted)
    assert f"Rejected by {name} at " in shown
    assert "“not owed”" in shown


def test_the_second_approval_is_told_who_approved_not_done(
    desk: Desk, rita: tuple[Any, Client]
) -> None:
    desk.client.post(desk.url("take"))
    stale = desk.client.get(desk.url("case"))  # Maya's page, before Rita approves
    assert desk.url("approve") in stale.content.decode()
    _, rita_client = rita
    assert "refund_payment done." in fragment(rita_client.post(desk.url("approve"), headers=HTMX))
    html = fragment(desk.client.post(desk.url("approve"), headers=HTMX))
    assert "refund_payment was already approved by Rita Ortiz at " in html
    assert "done." not in html
    assert desk.refunds() == [Decimal("150.00")]
    # A reject from the stale page is told the same, and rejects nothing.
    html = fragment(desk.client.post(desk.url("reject"), {"note": "too late"}, headers=HTMX))
    assert "already approved by Rita Ortiz" in html
    assert "Rejected: nothing was run." not in html
    desk.drafted.refresh_from_db()
    assert desk.drafted.status == DraftedAction.Status.EXECUTED


def test_approving_what_was_rejected_is_told_who_rejected_and_why(
    desk: Desk, rita: tuple[Any, Client]
) -> None:
    desk.client.post(desk.url("take"))
    _, rita_client = rita
    rita_client.post(desk.url("reject"), {"note": "duplicate of the last refund"})
    html = fragment(desk.client.post(desk.url("approve"), headers=HTMX))
    assert "already rejected by Rita Ortiz at " in html
    assert "“duplicate of the last refund”" in html
    assert desk.refunds() == []


def test_still_open_goes_once_the_refund_has_run(desk: Desk) -> None:
    packet = HandoffPacket.objects.get(case=desk.case)
    open_item = f"refund_payment ({desk.store.delivered.order_id} $150.00) still needs doing"
    packet.data["summary"]["still_open"] = open_item
    packet.data["summary"]["text"] = (
        f"Customer wants: a refund. Still open: {open_item}. Customer feels upset."
    )
    packet.save()
    desk.client.post(desk.url("take"))
    before = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    # Once, among the facts: the summary's paragraph is not shown beside them.
    assert before.count("still needs doing") == 1
    after = fragment(desk.client.post(desk.url("approve"), headers=HTMX))
    assert "still needs doing" not in after
    assert "Still open" not in after


def test_the_refund_destination_and_payment_history_show_before_approval(desk: Desk) -> None:
    order = desk.store.delivered
    paid = order.payments.get()
    label = desk.store.card.masked
    desk.client.post(desk.url("take"))
    shown = card(fragment(desk.client.get(desk.url("case"), headers=HTMX)), desk.drafted)
    assert f"Goes to: <strong>{label}</strong> $150.00" in shown
    assert f"Payments of {order.order_id}" in shown
    assert f"paid ${paid.amount} by {label}" in shown
    after = card(fragment(desk.client.post(desk.url("approve"), headers=HTMX)), desk.drafted)
    assert f"Went to: <strong>{label}</strong>" in after
    assert f"refund $150.00 to {label}" in after
