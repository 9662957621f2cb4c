"""Canned replies with their variables filled in for one case."""

from __future__ import annotations

import re
from typing import Any

# {name} tokens only: any other brace in a reply is text, so one odd macro cannot break a page.
_VARIABLE = re.compile(r"\{(\w+)\}")


def macro_fill(body: str, values: dict[str, str]) -> str:
    """Fill the known variables of a macro; unknown ones become empty, other braces stay."""
    return _VARIABLE.sub(lambda match: values.get(match.group(1), ""), body)


def macros_render(*, workspace: Any, agent: Any) -> list[dict[str, str]]:
    account = workspace.account
    values = {
        "customer_first_name": (account.first_name if account else "") or "there",
        "agent_name": agent.get_full_name() or agent.username,
        "order_id": workspace.orders[0].order_id if workspace.orders else "",
    }
    return [{"name": m.name, "body": macro_fill(m.body, values)} for m in workspace.macros]
