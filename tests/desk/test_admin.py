"""The Django admin cannot corrupt live state or history: a case's status, assignee, deadline
and weight change only through the services (and so the audit); records that are history
(events, audit entries, packets, signals) are read-only; nothing of the record is deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from actions.models import AuditEntry, DraftedAction
from conversations.models import Conversation, CustomerRef, Event, Integration
from escalation.models import AgentProfile, Case, ConversationState, HandoffPacket, Rule, Signal
from store.models import Customer, Order, Product, Variant
from tests.factories import CaseFactory, ConversationFactory, EventFactory, agent_user

pytestmark = pytest.mark.django_db

# What the admin shows and nobody may change there: the record and its history.
READ_ONLY = [
    Case,
    Conversation,
    ConversationState,
    CustomerRef,
    Event,
    AuditEntry,
    DraftedAction,
    HandoffPacket,
    Signal,
    Customer,
    Order,
    Product,
    Variant,
]


@pytest.fixture
def rita(db: None) -> Any:
    return get_user_model().objects.create_superuser(username="rita", password="pw-for-tests")


@pytest.fixture
def admin_client(rita: Any) -> Client:
    client = Client()
    client.force_login(rita)
    return client


def url(model: Any, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_a_post_to_a_cases_change_page_changes_nothing(admin_client: Client) -> None:
    leo = agent_user(username="leo")
    case = CaseFactory(status=Case.Status.QUEUED, assignee=None, weight=1.0)
    due = case.sla_due_at

    page = admin_client.get(url(Case, "change", case.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="status"' not in html
    assert 'name="assignee"' not in html
    assert 'name="_save"' not in html

    response = admin_client.post(
        url(Case, "change", case.pk),
        {
            "status": Case.Status.RESOLVED,
            "assignee": leo.pk,
            "sla_due_at_0": "2000-01-01",
            "sla_due_at_1": "00:00:00",
            "weight": "99",
            "priority": "100",
        },
    )

    assert response.status_code == 403
    case.refresh_from_db()
    assert (case.status, case.assignee, case.sla_due_at, case.weight, case.priority) == (
        Case.Status.QUEUED,
        None,
        due,
        1.0,
        50,
    )


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_history_and_live_state_cannot_be_added_changed_or_deleted(
    admin_client: Client, rita: Any, model: Any
) -> None:
    model_admin = admin.site._registry[model]
    request = type("Request", (), {"user": rita, "method": "GET"})()

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)
    # The changelist opens, with no "delete selected" among its actions.
    page = admin_client.get(url(model, "changelist"))
    assert page.status_code == 200
    assert "delete_selected" not in page.content.decode()


def test_deleting_a_case_is_refused(admin_client: Client) -> None:
    case = CaseFactory()

    assert admin_client.post(url(Case, "delete", case.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(
        url(Case, "changelist"), {"action": "delete_selected", "_selected_action": [case.pk]}
    )
    assert response.status_code in {200, 302}
    assert Case.objects.filter(pk=case.pk).exists()


def test_events_cannot_be_deleted_or_rewritten(admin_client: Client) -> None:
    event = EventFactory(text="I want a refund")

    admin_client.post(url(Event, "change", event.pk), {"text": "all is well", "seq": "99"})
    assert admin_client.post(url(Event, "delete", event.pk), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert (event.text, Event.objects.count()) == ("I want a refund", 1)


def test_integrations_are_revoked_not_deleted(admin_client: Client) -> None:
    integration = Integration.objects.create(name="bot", token_hash="x" * 64, token_prefix="btn_x")

    assert (
        admin_client.post(url(Integration, "delete", integration.pk), {"post": "yes"}).status_code
        == 403
    )
    page = admin_client.get(url(Integration, "changelist")).content.decode()
    assert "delete_selected" not in page
    assert 'value="revoke"' in page


def test_rules_are_switched_off_not_deleted(admin_client: Client, rita: Any) -> None:
    request = type("Request", (), {"user": rita, "method": "GET"})()
    rules = admin.site._registry[Rule]

    assert rules.has_change_permission(request)
    assert not rules.has_delete_permission(request)


def test_an_agents_presence_is_not_set_in_the_admin(admin_client: Client) -> None:
    leo = agent_user(username="leo")
    profile = AgentProfile.objects.get(user=leo)

    html = admin_client.get(url(AgentProfile, "change", profile.pk)).content.decode()
    assert 'name="capacity"' in html
    assert 'name="presence"' not in html
    assert 'name="last_seen_at_0"' not in html


def test_the_case_list_shows_assignee_and_deadline_and_finds_by_customer(
    admin_client: Client,
) -> None:
    leo = agent_user(username="leo")
    ada = CaseFactory(
        conversation=ConversationFactory(external_id="web-ada", customer_name="Ada Lovelace"),
        status=Case.Status.ASSIGNED,
        assignee=leo,
    )
    CustomerRef.objects.filter(pk=ada.conversation.customer_id).update(email="ada@example.com")
    bob = CaseFactory(
        conversation=ConversationFactory(external_id="web-bob", customer_name="Bob Stone")
    )

    html = admin_client.get(url(Case, "changelist")).content.decode()
    assert "column-assignee" in html
    # Baton's icon, so the browser asks for no /favicon.ico (a 404 in the demo's terminal).
    assert 'rel="icon"' in html
    assert "column-first_reply_due" in html
    assert "leo" in html

    def found(q: str) -> set[int]:
        response = admin_client.get(url(Case, "changelist"), {"q": q})
        return set(response.context["cl"].result_list.values_list("pk", flat=True))

    assert found("Lovelace") == {ada.pk}
    assert found("ada@example.com") == {ada.pk}
    assert found("web-bob") == {bob.pk}


def test_the_audit_log_lists_newest_first(admin_client: Client) -> None:
    old, new = (
        AuditEntry.objects.create(kind=AuditEntry.Kind.CHECKED, actor="ai", tool=tool)
        for tool in ("refund_payment", "cancel_subscription")
    )
    AuditEntry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(hours=1))

    response = admin_client.get(url(AuditEntry, "changelist"))

    assert [e.pk for e in response.context["cl"].result_list] == [new.pk, old.pk]


def test_a_handoff_packet_cannot_be_rewritten(admin_client: Client) -> None:
    case = CaseFactory()
    packet = HandoffPacket.objects.create(
        case=case, version=1, backend=HandoffPacket.Backend.EMBEDDED, data={"summary": "x"}
    )

    admin_client.post(url(HandoffPacket, "change", packet.pk), {"data": '{"summary": "y"}'})
    assert (
        admin_client.post(url(HandoffPacket, "delete", packet.pk), {"post": "yes"}).status_code
        == 403
    )
    packet.refresh_from_db()
    assert packet.data == {"summary": "x"}
