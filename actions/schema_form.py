"""A person's form for a catalog tool, generated from the tool's JSON schema (the one the AI
is given), and the tool's arguments read back from what was typed. The form only collects:
the arguments are validated by the catalog and decided by the policy, as the AI's are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actions.catalog import TOOLS, Tool

# Arguments the case's customer fills in (the action is for them and no other).
CUSTOMER_FIELDS = {"user_id"}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    # "text", "select" (choices), "list" (comma-separated), "amount" or "textarea".
    kind: str
    required: bool
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    hint: str = ""
    value: str = ""
    # Suggestions from the account ("orders", "methods", "subscriptions", "items").
    suggest: str = ""
    readonly: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def startable_tools() -> list[Tool]:
    """What a person can start from a case: the consequential tools (the reads are the
    account panel)."""
    return [tool for tool in TOOLS.values() if tool.consequential]


def _label(name: str) -> str:
    words = name.replace("_ids", "_IDs").replace("_id", "_ID").split("_")
    text = " ".join(words)
    return text[:1].upper() + text[1:]


_SUGGEST = {
    "order_id": "orders",
    "payment_method_id": "methods",
    "subscription_id": "subscriptions",
    "item_ids": "items",
    "new_item_ids": "items",
}


def tool_form(
    *, tool: Tool, values: Mapping[str, str] | None = None, customer_id: str = ""
) -> list[FormField]:
    """The tool's fields, in its schema's order, with what was typed (or the customer)."""
    schema = tool.args.model_json_schema()
    required = set(schema.get("required", []))
    fields = []
    for name, spec in schema.get("properties", {}).items():
        if spec.get("enum"):
            kind, choices = "select", tuple(str(c) for c in spec["enum"])
        elif spec.get("type") == "array":
            kind, choices = "list", ()
        elif "anyOf" in spec and spec.get("decimal_places") is not None:
            kind, choices = "amount", ()
        elif name == "reason":
            kind, choices = "textarea", ()
        else:
            kind, choices = "text", ()
        value = (values or {}).get(name, "")
        readonly = False
        if name in CUSTOMER_FIELDS and customer_id:
            value, readonly = customer_id, True
        hint = ""
        if kind == "list":
            hint = "comma-separated"
        elif kind == "amount":
            hint = "e.g. 49.90"
        fields.append(
            FormField(
                name=name,
                label=_label(name),
                kind=kind,
                required=name in required,
                choices=choices,
                max_length=spec.get("maxLength"),
                hint=hint,
                value=value,
                suggest=_SUGGEST.get(name, ""),
                readonly=readonly,
            )
        )
    return fields


def tool_form_args(
    *, tool: Tool, data: Mapping[str, Any], customer_id: str = ""
) -> tuple[dict[str, Any], dict[str, str]]:
    """The tool's arguments from a submitted form, and the raw values to show again. Lists
    are comma-separated; the customer fields are always the case's customer."""
    args: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for form_field in tool_form(tool=tool, customer_id=customer_id):
        text = str(data.get(form_field.name) or "").strip()
        if form_field.readonly:
            text = form_field.value
        raw[form_field.name] = text
        if form_field.kind == "list":
            args[form_field.name] = [part.strip() for part in text.split(",") if part.strip()]
        else:
            args[form_field.name] = text
    return args, raw
