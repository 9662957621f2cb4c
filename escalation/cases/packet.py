"""A case's handoff packet: the drafts it carries (written) and the packet itself (built)."""

from __future__ import annotations

from typing import Any

from actions.catalog import TOOLS
from actions.selectors import conversation_account_id
from actions.services import action_draft
from conversations.models import Conversation
from escalation.analysis import Turn
from escalation.models import Case
from escalation.packets import packet_build
from escalation.services import Baseline, conversation_engine_run
from store.models import Customer


def case_drafts_sync(*, case: Case, turns: list[Turn], account_id: str) -> list[int]:
    """Draft, once each, the catalog actions the AI was denied, and give the case every draft
    of its conversation. Returns the ids of the case's drafts. Call holding the case lock."""
    conversation = case.conversation
    drafted = list(case.drafted_actions.values_list("pk", flat=True))
    already = {(d.tool, repr(sorted(d.args.items()))) for d in conversation.drafted_actions.all()}
    for turn in turns:
        # Only actions of the catalog can be drafted: nobody could approve an unknown one.
        if turn.type == "tool_call" and turn.tool_status == "denied" and turn.tool in TOOLS:
            key = (turn.tool, repr(sorted(turn.tool_args.items())))
            if key in already:
                continue
            already.add(key)
            drafted.append(
                action_draft(
                    tool=turn.tool,
                    args=turn.tool_args,
                    drafted_by="ai",
                    account_id=account_id,
                    conversation=conversation,
                    case=case,
                ).pk
            )
    conversation.drafted_actions.filter(case__isnull=True).update(case=case)
    return sorted(set(drafted) | set(conversation.drafted_actions.values_list("pk", flat=True)))


def _customer_card(account_id: str | None) -> dict[str, Any] | None:
    row = Customer.objects.filter(customer_id=account_id).first() if account_id else None
    if row is None:
        return None
    return {
        "customer_id": row.customer_id,
        "lifetime_value": str(row.lifetime_value),
        "first_name": row.first_name,
        "last_name": row.last_name,
        "email": row.email,
        "tier": row.tier,
    }


def case_packet_prepare(*, case: Case) -> dict[str, Any]:
    """Bring the conversation's analysis up to date, sync the case's drafts, and build the
    embedded packet from the conversation as stored now. Call holding the case lock."""
    # Locks are taken case, then conversation, everywhere: holding the conversation here keeps
    # this run and conversation_analyze from inserting the same analysis rows at once
    # (PostgreSQL deadlocked on those inserts under load).
    Conversation.objects.select_for_update().filter(pk=case.conversation_id).first()
    conversation = case.conversation
    ref = conversation.customer
    run = conversation_engine_run(
        conversation=conversation,
        external_id=conversation.account_id or (ref.external_id if ref else ""),
        # A case opened after an earlier one was resolved is about what came after it.
        since=Baseline(seq=case.after_seq) if case.after_seq else None,
    )
    analysis = run.analysis
    # The account the platform vouched for comes first. One found from the transcript (a user id
    # or email the customer typed) is shown to the agent, who can check it, but is never bound
    # to the conversation: binding is what lets the AI act on an account, and typing someone's
    # id must not authenticate anybody (policy: find the user by email or name and zip).
    account_id = conversation_account_id(conversation=conversation) or analysis.link.customer_id
    drafted = case_drafts_sync(case=case, turns=run.turns, account_id=account_id or "")
    return packet_build(
        turns=run.turns,
        messages=analysis.messages,
        state=analysis.state,
        entities=analysis.entities,
        link=analysis.link,
        reasons=analysis.reasons,
        customer=_customer_card(account_id),
        drafted_actions=drafted,
        writer_name=ref.name if ref else "",
    ) | {"risk": analysis.state.risk}
