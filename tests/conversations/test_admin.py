"""The Django admin's part: integrations are created there with their token shown once, and
drafted actions can be looked at but not changed past the policy layer."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from conversations.models import Integration
from conversations.selectors import integration_for_token


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(
        get_user_model().objects.create_superuser(username="rita", password="pw-for-tests")
    )
    return client


def test_adding_an_integration_in_the_admin_shows_its_token_once(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:conversations_integration_add"), {"name": "shop-bot"}, follow=True
    )

    html = response.content.decode()
    [token] = re.findall(r"copy it now\): (btn_[\w-]+)", html)
    integration = Integration.objects.get(name="shop-bot")
    assert integration_for_token(token=token) == integration
    assert (
        token
        not in admin_client.get(
            reverse("admin:conversations_integration_change", args=[integration.pk])
        ).content.decode()
    )


def test_drafted_actions_are_read_only_in_the_admin(admin_client: Client) -> None:
    from actions.models import DraftedAction

    drafted = DraftedAction.objects.create(
        tool="refund_payment", args={"amount": "10"}, original_args={"amount": "10"}
    )
    change = reverse("admin:actions_draftedaction_change", args=[drafted.pk])

    admin_client.post(change, {"status": "executed", "args": '{"amount": "9999"}'})
    assert (
        admin_client.post(
            reverse("admin:actions_draftedaction_delete", args=[drafted.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    drafted.refresh_from_db()
    assert (drafted.status, drafted.args) == (DraftedAction.Status.DRAFTED, {"amount": "10"})
    assert admin_client.get(reverse("admin:actions_draftedaction_add")).status_code == 403
