"""The closing-pleasantry classifier: what a customer writes after a person resolved their
case that needs no new case, and what does."""

from __future__ import annotations

import pytest

from escalation.signals.pleasantry import is_pleasantry


@pytest.mark.parametrize(
    "text",
    [
        "Appreciate it. Finally a real answer.",
        "thanks!",
        "ok great",
        "Thank you so much, have a nice day!",
        "Perfect, cheers 👍",
        "Got it, thanks a lot",
        "Thanks Maya, you're a star",
        "That's all, bye",
        "ok",
        "merci beaucoup",
        "Great, that helps. Thanks again for your patience!",
        "Thank\u2019s, all sorted :)",
    ],
)
def test_closing_pleasantries_are_recognised(text: str) -> None:
    assert is_pleasantry(text)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks! Where is my refund?",
        "thanks, but my order still hasn't arrived",
        "ok great, can you also cancel my subscription",
        "Thanks. One more thing: the charger is missing from the box.",
        "thanks for nothing",
        "Great, another week without my parcel.",
        "Perfect. Now I need to change my address",
        "Thanks, I would like to return the blue shirt as well",
        "hello",
        "My order #W2378156 arrived broken",
        "Thank you, but I was charged twice",
        "ok great so when does it ship",
        "",
        "Thanks, the order came but it's the wrong size and the box was crushed too",
        "ok, the tracking link you sent shows the parcel in Leeds since Monday",
    ],
)
def test_a_question_a_request_or_a_problem_is_not_a_pleasantry(text: str) -> None:
    assert not is_pleasantry(text)
