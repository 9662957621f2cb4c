"""`check_actions`: policy cases from a JSONL file, one JSON line of decisions a case, every
case rolled back; and the tau-retail dev cases against their labels when the data is here."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from actions.models import AuditEntry
from tests.factories import store_scenario, store_snapshot

TAU_RETAIL = Path(__file__).resolve().parents[3] / "shared/data/tau-retail"
# The dev cases whose labels we disagree with, and where: {id: [(action, ours, label)]}. Both
# labels ignore a gift-card balance changed by an earlier action in the same case, which
# check_actions executes before the next one.
KNOWN_LABEL_DISAGREEMENTS = {
    # Cancelling #W6236251 refunds its $1,507.57 to gift_card_5715854 at once (policy.md: "refunded
    # ... immediately if it is gift card"), so the card, at $70 before, now covers #W1205816's
    # $759.82. The label still expects insufficient_gift_card.
    "train-68-3-insufficient_gift_card": [(3, "allow", "deny")],
    # The first item change pays $72.00 from gift_card_9708163, leaving $18.00 of its $90.00, so
    # the second change's $18.82 is no longer covered. The label expects the original balance.
    "train-314-gold": [(3, "deny", "allow")],
}


def run_check_actions(path: Path, *, actor: str) -> list[dict[str, object]]:
    out = StringIO()
    call_command("check_actions", str(path), actor=actor, stdout=out, stderr=StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


@pytest.mark.django_db
def test_check_actions_prints_a_line_per_case_and_rolls_back(tmp_path: Path) -> None:
    store = store_scenario()
    pending, delivered = store.pending.order_id, store.delivered.order_id
    cases = [
        {
            "id": "cancel-then-cancel-again",
            "customer": store.customer.customer_id,
            "actions": [
                {
                    "tool": "cancel_pending_order",
                    "args": {"order_id": pending, "reason": "no longer needed"},
                    "expect": "allow",
                },
                {
                    "tool": "cancel_pending_order",
                    "args": {"order_id": pending, "reason": "no longer needed"},
                    "expect": "deny",
                    "why": "already cancelled by the first action",
                },
            ],
        },
        {
            "id": "refunds",
            "customer": store.customer.customer_id,
            "actions": [
                {
                    "tool": "refund_payment",
                    "args": {"order_id": delivered, "amount": "150.00", "reason": "late"},
                },
                {
                    "tool": "refund_payment",
                    "args": {"order_id": delivered, "amount": "150.00", "reason": "late"},
                },
                {
                    "tool": "return_delivered_order_items",
                    "args": {
                        "order_id": delivered,
                        "item_ids": [store.shirt_blue.item_id],
                        "payment_method_id": store.paypal.method_id,
                    },
                },
            ],
        },
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(case) for case in cases) + "\n\n")
    before, audit_before = store_snapshot(), AuditEntry.objects.count()

    lines = run_check_actions(path, actor="ai")

    assert lines == [
        {
            "id": "cancel-then-cancel-again",
            "decisions": ["allow", "deny"],
            "reasons": [[], ["wrong_status"]],
        },
        {
            "id": "refunds",
            "decisions": ["needs_approval", "needs_approval", "deny"],
            "reasons": [
                ["over_authority_limit"],
                ["over_authority_limit"],
                ["refund_method_not_allowed"],
            ],
        },
    ]
    assert store_snapshot() == before
    assert AuditEntry.objects.count() == audit_before

    as_supervisor = run_check_actions(path, actor="supervisor")
    assert as_supervisor[1]["decisions"] == ["allow", "deny", "deny"]
    assert as_supervisor[1]["reasons"][1] == ["refund_exceeds_paid"]
    assert store_snapshot() == before


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('{"id": "x", "actions": [{"args": {}}]}', "not a case (no 'tool')"),
        ('{"id": "x"}', "not a case (no 'actions')"),
        ('{"id": "x", "actions": [{"tool": 7}]}', "not a case (a tool is not a string)"),
        ('["x"]', "not a case"),
        ("{", "not a case"),
    ],
    ids=["no-tool", "no-actions", "tool-not-a-string", "not-an-object", "not-json"],
)
@pytest.mark.django_db
def test_a_malformed_case_is_a_command_error_naming_its_line(
    tmp_path: Path, line: str, error: str
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "fine", "actions": []}\n' + line + "\n")
    with pytest.raises(CommandError, match=rf"cases\.jsonl:2: {re.escape(error)}"):
        run_check_actions(path, actor="ai")


@pytest.mark.skipif(
    not (TAU_RETAIL / "cases-dev.jsonl").is_file(),
    reason=f"tau-retail data is not at {TAU_RETAIL} (CI has it)",
)
@pytest.mark.django_db
def test_the_tau_retail_dev_cases_match_their_labels(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import_store", str(TAU_RETAIL), format="tau-retail", stdout=StringIO())
    cases_path = TAU_RETAIL / "cases-dev.jsonl"
    expected = {}
    with cases_path.open() as lines:
        for line in lines:
            if line.strip():
                case = json.loads(line)
                expected[case["id"]] = [action["expect"] for action in case["actions"]]

    results = run_check_actions(cases_path, actor="supervisor")

    assert [r["id"] for r in results] == list(expected)
    mismatches = {
        r["id"]: [
            (position, got, want)
            for position, (got, want) in enumerate(
                zip(r["decisions"], expected[r["id"]], strict=True)
            )
            if got != want
        ]
        for r in results
        if r["decisions"] != expected[r["id"]]
    }
    decisions = sum(len(actions) for actions in expected.values())
    differing = sum(len(positions) for positions in mismatches.values())
    with capsys.disabled():
        print(f"\ntau-retail dev: {decisions - differing}/{decisions} decisions match")
        if mismatches:
            print(f"cases with a differing decision: {', '.join(sorted(mismatches))}")
    assert mismatches == KNOWN_LABEL_DISAGREEMENTS
