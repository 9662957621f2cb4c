"""Hand-built contact histories for the definitions' tests (docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from outcomes.history import CaseStint, ContactHistory, Turn

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def at(minutes: float = 0, *, days: float = 0) -> datetime:
    return T0 + timedelta(days=days, minutes=minutes)


@dataclass
class Story:
    """A conversation told turn by turn; each call takes the next seq, `minutes` after T0."""

    turns: list[Turn] = field(default_factory=list)
    cases: list[CaseStint] = field(default_factory=list)
    closed_outcome: str = ""
    closed_at: datetime | None = None
    topic: str = "order_status"
    customer_key: str = "acct:ana_lee_1234"
    account_id: str = "ana_lee_1234"

    @property
    def seq(self) -> int:
        return len(self.turns)

    def _add(self, kind: str, speaker: str, words: str, minutes: float, **payload: Any) -> Story:
        if kind == "message":
            payload |= {"role": speaker, "text": words}
        self.turns.append(
            Turn(
                seq=self.seq + 1,
                type=kind,
                role=speaker,
                text=words,
                at=at(minutes),
                payload={"type": kind, "seq": self.seq + 1, **payload},
            )
        )
        return self

    def customer(self, text: str, minutes: float) -> Story:
        return self._add("message", "customer", text, minutes)

    def ai(self, text: str, minutes: float) -> Story:
        return self._add("message", "ai", text, minutes)

    def agent(self, text: str, minutes: float, *, greeting: bool = False) -> Story:
        extra = {"greeting": True} if greeting else {}
        return self._add("message", "agent", text, minutes, **extra)

    def tool(self, status: str, minutes: float, tool: str = "get_order_details") -> Story:
        return self._add("tool_call", "ai", "", minutes, tool=tool, status=status)

    def handoff(self, minutes: float, **case: Any) -> Story:
        """The AI hands off: a handoff event and the case it opens."""
        self._add("handoff", "ai", "", minutes, reason="customer_requested_human")
        return self.case(minutes, **case)

    def case(self, minutes: float, *, packet: dict[str, Any] | None = None, **fields: Any) -> Story:
        defaults: dict[str, Any] = {
            "case_id": len(self.cases) + 1,
            "trigger": "handoff",
            "opened_at": at(minutes),
            "opened_seq": self.seq,
            "after_seq": self.cases[-1].resolved_seq or 0 if self.cases else 0,
            "team": "general",
            "holders": (7,),
            "packet": packet or {},
        }
        self.cases.append(CaseStint(**(defaults | fields)))
        return self

    def resolve(self, outcome: str, minutes: float) -> Story:
        self.cases[-1] = replace(
            self.cases[-1], outcome=outcome, resolved_at=at(minutes), resolved_seq=self.seq
        )
        return self

    def feedback(self, rating: int, minutes: float, part: str = "overall") -> Story:
        return self._add("feedback", "customer", "", minutes, rating=rating, part=part)

    def close(self, outcome: str, minutes: float) -> Story:
        self._add("close", "", "", minutes, outcome=outcome)
        self.closed_outcome, self.closed_at = outcome, at(minutes)
        return self

    def history(self, conversation_id: int = 1) -> ContactHistory:
        return ContactHistory(
            conversation_id=conversation_id,
            started_at=self.turns[0].at,
            turns=list(self.turns),
            cases=list(self.cases),
            closed_outcome=self.closed_outcome,
            closed_at=self.closed_at,
            topic=self.topic,
            customer_key=self.customer_key,
            account_id=self.account_id,
            tier="standard",
        )
