"""The catalog is the one registry of tools: each carries its own check, effect or read."""

from __future__ import annotations

import pytest

from actions import effects, policy, reads
from actions.catalog import TOOLS, Tool
from actions.schemas import RefundPayment


def test_every_consequential_tool_carries_its_check_and_effect_and_every_read_its_read() -> None:
    for tool in TOOLS.values():
        if tool.consequential:
            assert tool.check is getattr(policy, tool.name)
            assert tool.effect is getattr(effects, tool.name)
            assert tool.read is None
        else:
            assert tool.read is getattr(reads, tool.name)
            assert tool.check is None and tool.effect is None


@pytest.mark.parametrize(
    "parts",
    [
        {},
        {"check": policy.refund_payment},
        {"effect": effects.refund_payment},
        {
            "check": policy.refund_payment,
            "effect": effects.refund_payment,
            "read": reads.get_order_details,
        },
    ],
)
def test_a_tool_without_what_it_needs_fails_when_the_catalog_loads(parts: dict) -> None:
    with pytest.raises(TypeError):
        Tool("refund_payment", "Refund.", RefundPayment, **parts)


def test_only_the_finding_reads_authenticate_and_need_no_customer() -> None:
    assert {t.name for t in TOOLS.values() if t.authenticates} == {
        "find_user_id_by_email",
        "find_user_id_by_name_zip",
    }
    assert {t.name for t in TOOLS.values() if t.open_read} == {
        "find_user_id_by_email",
        "find_user_id_by_name_zip",
        "get_product_details",
    }
