"""A person's name on the desk's pages, and an account that was deleted (the audit columns
keep a null): the page says "someone" instead of failing."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from tests.factories import agent_user

pytestmark = pytest.mark.django_db


def _render(user: object) -> str:
    return Template("{% load desk_tags %}{{ user|person }}").render(Context({"user": user}))


def test_a_name_then_the_username_then_someone() -> None:
    named = agent_user(username="maya")
    named.first_name, named.last_name = "Maya", "Okafor"
    assert _render(named) == "Maya Okafor"
    unnamed = agent_user(username="leo")
    unnamed.first_name = unnamed.last_name = ""
    assert _render(unnamed) == "leo"
    # Before, `a.held_by.get_full_name|default:a.held_by.username` raised on a null (a
    # filter's argument is not forgiven), so the whole page failed.
    assert _render(None) == "someone"
