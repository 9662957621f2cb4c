"""The queue's view, filters and search as a person asks for them in the page's address (and
its socket's): parsed and validated here, so a bad value gets a message rather than an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from desk.selectors import QueueQuery, QueueScope, QueueView


class QueueFilterForm(forms.Form):
    view = forms.ChoiceField(
        required=False,
        error_messages={
            "invalid_choice": "There is no “%(value)s” view on your queue; showing your default."
        },
    )

    def __init__(self, data: Mapping[str, Any], *, scope: QueueScope) -> None:
        super().__init__(data)
        self.scope = scope
        self.fields["view"].choices = [(v.value, v.label) for v in scope.views()]

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
