"""Canned replies with their variables filled in for one case."""

from __future__ import annotations

import re
from typing import Any

from escalation.cases.work import case_greeted

# {name} tokens only: any other brace in a reply is text, so one odd macro cannot break a page.
_VARIABLE = re.compile(r"\{(\w+)\}")


def macro_fill(body: str, values: dict[str, str]) -> str:
    """Fill the known variables of a macro; unknown ones become empty, other braces stay."""
    return _VARIABLE.sub(lambda match: values.get(match.group(1), ""), body)


def macro_is_greeting(name: str) -> bool:
    """A canned reply that introduces the agent ("Greeting", "Greeting (formal)")."""
    return name.strip().lower().startswith("greeting")


def macros_render(*, workspace: Any, agent: Any) -> list[dict[str, str]]:
    """The canned replies for the case; a greeting is left out once the customer was greeted,
    so nobody introduces themselves twice."""
    greeted = case_greeted(timeline=workspace.timeline)
    account = workspace.account
    # The person chatting, as the platform named them; else the linked account's holder.
    ref = workspace.case.conversation.customer
    writer = ref.name.split()[0] if ref is not None and ref.name.strip() else ""
    # The order the conversation is about (linked in the packet), else the newest one.
    linked = (workspace.packet.data.get("orders") or []) if workspace.packet else []
    values = {
        "customer_first_name": writer or (account.first_name if account else "") or "there",
        "agent_name": agent.get_full_name() or agent.username,
        "order_id": linked[0]
        if linked
        else (workspace.orders[0].order_id if workspace.orders else ""),
    }
    return [
        {"name": m.name, "body": macro_fill(m.body, values)}
        for m in workspace.macros
        if not (greeted and macro_is_greeting(m.name))
    ]
