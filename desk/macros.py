"""Canned replies with their variables filled in for one case."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def macros_render(*, workspace: Any, agent: Any) -> list[dict[str, str]]:
    account = workspace.account
    values: dict[str, str] = defaultdict(
        str,
        customer_first_name=(account.first_name if account else "") or "there",
        agent_name=agent.get_full_name() or agent.username,
        order_id=workspace.orders[0].order_id if workspace.orders else "",
    )
    return [{"name": m.name, "body": m.body.format_map(values)} for m in workspace.macros]
