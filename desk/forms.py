"""The queue's view, filters and search as a person asks for them in the page's address (and
its socket's): parsed and validated here, so a bad value gets a message rather than an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from desk.selectors import PRIORITY_BANDS, QueueQuery, QueueScope, QueueView
from escalation.models import Case

SLUG = r"^[a-z0-9][a-z0-9_-]{0,49}$"


class QueueFilterForm(forms.Form):
    view = forms.ChoiceField(
        required=False,
        error_messages={
            "invalid_choice": "There is no “%(value)s” view on your queue; showing your default."
        },
    )

    # Teams and topics are checked by their form, not against the database: a topic nobody
    # is discussing right now is still a filter that will fill up.
    team = forms.RegexField(
        regex=SLUG,
        required=False,
        error_messages={"invalid": "“%(value)s” is not a team name; the team filter was cleared."},
    )
    topic = forms.RegexField(
        regex=SLUG,
        required=False,
        error_messages={
            "invalid": "“%(value)s” is not a topic name; the topic filter was cleared."
        },
    )
    priority = forms.ChoiceField(
        choices=[("", "Any"), *((band, band.title()) for band in PRIORITY_BANDS)],
        required=False,
        error_messages={
            "invalid_choice": "Priority is high, normal or low, not “%(value)s”; "
            "the priority filter was cleared."
        },
    )
    status = forms.ChoiceField(
        choices=[
            ("", "Any"),
            (Case.Status.QUEUED, Case.Status.QUEUED.label),
            (Case.Status.ASSIGNED, Case.Status.ASSIGNED.label),
        ],
        required=False,
        error_messages={
            "invalid_choice": "Status is queued or assigned, not “%(value)s”; "
            "the status filter was cleared."
        },
    )
    q = forms.CharField(
        required=False,
        max_length=100,
        strip=True,
        error_messages={
            "max_length": "A search is at most %(limit_value)d characters; it was not run."
        },
    )

    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100_000,
        error_messages={
            "invalid": "The page is a number; showing the first.",
            "min_value": "Pages start at 1; showing the first.",
            "max_value": "There is no such page; showing the first.",
        },
    )

    def __init__(self, data: Mapping[str, Any], *, scope: QueueScope) -> None:
        super().__init__(data)
        self.scope = scope
        self.fields["view"].choices = [(v.value, v.label) for v in scope.views()]

    def clean_team(self) -> str:
        team = self.cleaned_data.get("team") or ""
        if team and self.scope.teams is not None and team not in self.scope.teams:
            raise forms.ValidationError(
                "You do not work the “%(team)s” team; the team filter was cleared.",
                params={"team": team},
            )
        return team

    def clean_page(self) -> int:
        return self.cleaned_data.get("page") or 1

    def clean_view(self) -> str:
        return self.cleaned_data.get("view") or self.scope.default_view


def queue_query_parse(
    params: Mapping[str, Any], *, scope: QueueScope
) -> tuple[QueueQuery, list[str]]:
    """The query the params ask for, and what was wrong with them (those parts are dropped)."""
    form = QueueFilterForm(params, scope=scope)
    form.is_valid()
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    if "view" in form.errors and params.get("view") == QueueView.ALL:
        errors = ["Only supervisors see every team's queue; showing your teams."]
    values = {name: form.cleaned_data[name] for name in form.fields if name in form.cleaned_data}
    values.setdefault("view", scope.default_view)
    return QueueQuery(**values), errors
