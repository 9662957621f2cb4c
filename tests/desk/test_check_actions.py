"""`check_actions`: policy cases from a JSONL file, one JSON line of decisions a case, every
case rolled back; and the tau-retail dev cases against their labels when the data is here."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from desk.actions.models import AuditEntry
from tests.factories import store_scenario, store_snapshot

TAU_RETAIL = Path(__file__).resolve().parents[3] / "shared/data/tau-retail"
# Labels that ignore a gift-card balance change made by an earlier action in the same case.
KNOWN_LABEL_DISAGREEMENTS = {"train-68-3-insufficient_gift_card", "train-314-gold"}


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
        r["id"]: sum(
            got != want for got, want in zip(r["decisions"], expected[r["id"]], strict=True)
        )
        for r in results
        if r["decisions"] != expected[r["id"]]
    }
    decisions = sum(len(actions) for actions in expected.values())
    differing = sum(mismatches.values())
    with capsys.disabled():
        print(f"\ntau-retail dev: {decisions - differing}/{decisions} decisions match")
        if mismatches:
            print(f"cases with a differing decision: {', '.join(sorted(mismatches))}")
    assert differing <= len(KNOWN_LABEL_DISAGREEMENTS), mismatches
