"""The definitions of docs/metrics.md on hand-built histories: path, outcome, FCR, recurrence,
ratings and churn. classify() reads no conversation data; the entity extractor it uses reads
the store's product names, hence the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outcomes.classify import classify, confirmed_in_words, substantive_answer
from outcomes.history import LaterContact, StoreActivity
from tests.outcomes.histories import Story, at

pytestmark = pytest.mark.django_db

LATER = at(days=120)
ANSWER = "Your order #W1234567 shipped on Monday with UPS and should arrive by Friday."


def answered() -> Story:
    return Story().customer("Where is my order #W1234567?", 0).ai(ANSWER, 1)


def escalated(*, ai_first: bool = True) -> Story:
    story = Story().customer("Where is my order #W1234567? It never arrived.", 0)
    if ai_first:
        story.ai("I'm sorry, let me connect you with a specialist.", 1)
    return story.handoff(2).agent("Hi Ana, I'm checking order #W1234567 for you now.", 5)


# --- the end of a contact ------------------------------------------------------------------


def test_an_open_contact_has_no_path_yet() -> None:
    facts = classify(answered().history(), now=at(60))
    assert facts.ended_at is None and facts.path == "" and facts.outcome == ""
    assert facts.customer_key == "acct:ana_lee_1234" and facts.topic == "order_status"


def test_a_contact_ends_after_72_hours_without_an_event_at_its_last_event() -> None:
    story = answered()
    assert classify(story.history(), now=at(1) + timedelta(hours=71)).ended_at is None
    facts = classify(story.history(), now=at(1) + timedelta(hours=72))
    assert (facts.ended_at, facts.ended_by) == (at(1), "inactive")
    # Silence after a substantive answer is an assumed resolution (Zendesk's rule).
    assert facts.outcome == "ai_resolved" and not facts.confirmed


def test_a_late_close_ends_the_contact_at_the_close_not_at_the_inactivity() -> None:
    story = answered()
    inactive = classify(story.history(), now=at(days=5))
    assert inactive.ended_by == "inactive"
    story.close("resolved", 60 * 24 * 5)
    facts = classify(story.history(), now=at(days=6))
    assert (facts.ended_at, facts.ended_by) == (at(days=5), "close")
    assert facts.outcome == "ai_resolved"


def test_feedback_alone_does_not_keep_a_contact_open() -> None:
    story = answered().feedback(5, 60 * 80)
    facts = classify(story.history(), now=at(60 * 80))
    assert facts.ended_by == "inactive" and facts.ended_at == at(1)


# --- path ----------------------------------------------------------------------------------


def test_no_case_is_ai_only() -> None:
    assert classify(answered().close("resolved", 2).history(), now=LATER).path == "ai_only"


def test_an_ai_message_before_the_first_case_is_ai_then_human() -> None:
    story = escalated().resolve("resolved", 9).close("resolved", 10)
    assert classify(story.history(), now=LATER).path == "ai_then_human"


def test_a_case_before_any_ai_message_is_human_direct() -> None:
    story = escalated(ai_first=False).resolve("resolved", 9).close("resolved", 10)
    assert classify(story.history(), now=LATER).path == "human_direct"


def test_an_ai_tool_call_alone_before_the_case_is_not_an_ai_message() -> None:
    story = (
        Story()
        .customer("I want a person", 0)
        .tool("ok", 1)
        .handoff(2)
        .agent("Hello Ana, about your order", 3)
    )
    story.resolve("resolved", 4).close("resolved", 5)
    assert classify(story.history(), now=LATER).path == "human_direct"


# --- outcome -------------------------------------------------------------------------------


def test_substantive_answer_needs_more_than_greetings_apologies_and_offers() -> None:
    story = (
        Story()
        .customer("hi", 0)
        .ai("Hello! How can I help you today?", 1)
        .ai("I'm sorry, I can't help with that. Would you like me to connect you to a human?", 2)
    )
    assert substantive_answer(story.turns) is None
    story.ai("Refunds go back to the card you paid with within 5 to 7 business days.", 3)
    assert substantive_answer(story.turns).seq == 4
    # A tool call that succeeded counts, a denied one does not.
    assert substantive_answer(Story().customer("x", 0).tool("denied", 1).turns) is None
    assert substantive_answer(Story().customer("x", 0).tool("ok", 1).turns) is not None


def test_ai_resolved_assumed_when_silent() -> None:
    facts = classify(answered().close("resolved", 3).history(), now=LATER)
    assert (facts.outcome, facts.confirmed, facts.resolved) == ("ai_resolved", False, True)
    assert facts.first_owner and facts.fcr


def test_ai_resolved_confirmed_in_words() -> None:
    story = answered().customer("Great, that worked, thanks!", 2).close("resolved", 3)
    facts = classify(story.history(), now=LATER)
    assert (facts.outcome, facts.confirmed) == ("ai_resolved", True)


@pytest.mark.parametrize(
    ("text", "confirms"),
    [
        ("thanks!", True),
        ("ok great", True),
        ("that fixed it", True),
        ("problem solved", True),
        ("it still doesn't work", False),
        ("that didn't work", False),
        ("thanks, but where is my refund?", False),
        ("I want to cancel my subscription", False),
    ],
)
def test_confirmed_in_words(text: str, confirms: bool) -> None:
    assert confirmed_in_words(text) is confirms


def test_feedback_before_the_close_confirms_and_is_kept() -> None:
    story = answered().feedback(5, 2, part="ai").close("resolved", 3)
    facts = classify(story.history(), now=LATER)
    assert facts.confirmed and facts.rating_ai == 5 and facts.rating is None


def test_feedback_after_the_close_counts_and_the_last_one_per_part_wins() -> None:
    story = (
        answered()
        .close("resolved", 3)
        .feedback(2, 10)
        .feedback(4, 11)
        .feedback(1, 12, part="human")
    )
    facts = classify(story.history(), now=LATER)
    assert (facts.rating, facts.rating_ai, facts.rating_human) == (4, None, 1)
    assert facts.confirmed


def test_the_last_rating_given_decides_confirmation_whichever_part_it_names() -> None:
    story = answered().close("resolved", 3).feedback(2, 10).feedback(5, 11, part="ai")
    facts = classify(story.history(), now=LATER)
    assert (facts.rating, facts.rating_ai) == (2, 5)
    assert facts.confirmed
    story = answered().close("resolved", 3).feedback(5, 10, part="ai").feedback(2, 11)
    assert not classify(story.history(), now=LATER).confirmed


def test_a_poor_rating_is_not_confirmation_even_with_thanks() -> None:
    story = answered().customer("thanks", 2).close("resolved", 3).feedback(1, 5)
    facts = classify(story.history(), now=LATER)
    assert facts.outcome == "ai_resolved" and not facts.confirmed


def test_closed_resolved_without_a_substantive_answer_is_deflected() -> None:
    story = (
        Story()
        .customer("Can I change my delivery address?", 0)
        .ai("Sorry, I can't help with that.", 1)
        .close("resolved", 2)
    )
    facts = classify(story.history(), now=LATER)
    assert (facts.outcome, facts.resolved, facts.fcr) == ("deflected", False, False)


def test_coming_back_on_the_same_topic_within_7_days_is_deflected_not_resolved() -> None:
    story = answered().close("resolved", 2)
    back = [LaterContact(started_at=at(2, days=6), topic="order_status")]
    facts = classify(story.history(), later=back, now=LATER)
    assert (facts.outcome, facts.resolved, facts.recurred_7d_same) == ("deflected", False, True)
    other_topic = [LaterContact(started_at=at(2, days=6), topic="refund")]
    facts = classify(story.history(), later=other_topic, now=LATER)
    assert facts.outcome == "ai_resolved" and facts.recurred_30d_any and facts.fcr


def test_ai_only_closed_abandoned_is_abandoned() -> None:
    facts = classify(answered().close("abandoned", 2).history(), now=LATER)
    assert (facts.outcome, facts.abandoned_in_queue, facts.resolved) == ("abandoned", False, False)


def test_leaving_while_queued_is_abandoned_in_the_queue() -> None:
    story = Story().customer("I need a person", 0).ai("Connecting you now.", 1).handoff(2)
    story.close("abandoned", 30)
    facts = classify(story.history(), now=LATER)
    assert (facts.path, facts.outcome, facts.abandoned_in_queue) == (
        "ai_then_human",
        "abandoned",
        True,
    )
    assert facts.human_end == "unfinished" and facts.wait_seconds is None
    # The same with no close: 72 h of silence while queued.
    story = Story().customer("I need a person", 0).ai("Connecting you now.", 1).handoff(2)
    facts = classify(story.history(), now=LATER)
    assert facts.ended_by == "inactive" and facts.abandoned_in_queue


def test_escalated_split_by_how_the_human_part_ended() -> None:
    for outcome, human_end, resolved in [
        ("resolved", "resolved", True),
        ("follow_up", "follow_up", False),
        ("merged", "follow_up", False),
        ("handed_back", "handed_back", False),
    ]:
        story = escalated().resolve(outcome, 9).close("abandoned", 10)
        facts = classify(story.history(), now=LATER)
        assert (facts.outcome, facts.human_end, facts.resolved) == (
            "escalated",
            human_end,
            resolved,
        )
    unfinished = classify(escalated().close("resolved", 10).history(), now=LATER)
    assert (unfinished.outcome, unfinished.human_end) == ("escalated", "unfinished")


def test_a_hand_back_that_the_ai_then_resolves_is_resolved_but_not_by_the_first_owner() -> None:
    story = escalated().resolve("handed_back", 9).ai(ANSWER, 10).close("resolved", 11)
    facts = classify(story.history(), now=LATER)
    assert (facts.human_end, facts.resolved, facts.first_owner, facts.fcr) == (
        "handed_back",
        True,
        False,
        False,
    )


def test_a_hand_back_followed_by_a_second_escalation() -> None:
    story = (
        escalated()
        .resolve("handed_back", 9)
        .customer("Actually the box arrived damaged, I need a replacement.", 20)
        .ai("I'm sorry to hear that, let me get a colleague.", 21)
        .handoff(22, team="returns", holders=(8,))
        .agent("Hi Ana, I can send a replacement for the damaged box.", 25)
        .resolve("resolved", 30)
        .close("resolved", 31)
    )
    facts = classify(story.history(), now=LATER)
    # The path is the first case's; the human part ended as the last case did.
    assert (facts.path, facts.outcome, facts.human_end, facts.team) == (
        "ai_then_human",
        "escalated",
        "resolved",
        "returns",
    )
    assert facts.resolved and not facts.first_owner and not facts.fcr
    # Handoff quality is the first handoff's.
    assert facts.handoff_at == at(2) and facts.wait_seconds == 180


# --- FCR -----------------------------------------------------------------------------------


def test_fcr_one_human_no_transfer() -> None:
    story = escalated().resolve("resolved", 9).close("resolved", 10)
    facts = classify(story.history(), now=LATER)
    assert facts.first_owner and facts.fcr


def test_no_fcr_after_a_transfer_or_with_two_holders() -> None:
    story = escalated()
    story.cases[0] = story.cases[0].__class__(**{**story.cases[0].__dict__, "transfers": 1})
    story.resolve("resolved", 9).close("resolved", 10)
    assert not classify(story.history(), now=LATER).fcr
    story = escalated()
    story.cases[0] = story.cases[0].__class__(**{**story.cases[0].__dict__, "holders": (7, 8)})
    story.resolve("resolved", 9).close("resolved", 10)
    facts = classify(story.history(), now=LATER)
    assert facts.resolved and not facts.first_owner and not facts.fcr


def test_no_fcr_when_the_same_topic_comes_back_within_7_days() -> None:
    story = escalated().resolve("resolved", 9).close("resolved", 10)
    back = [LaterContact(started_at=at(10, days=7), topic="order_status")]
    facts = classify(story.history(), later=back, now=LATER)
    assert facts.resolved and facts.first_owner and not facts.fcr


# --- recurrence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "recurs"),
    [
        (timedelta(days=30), True),
        (timedelta(days=29, hours=23), True),
        (timedelta(days=30, seconds=1), False),
        (timedelta(days=31), False),
    ],
)
def test_day_30_recurs_day_31_does_not(after: timedelta, recurs: bool) -> None:
    story = answered().close("resolved", 2)
    back = [LaterContact(started_at=at(2) + after, topic="order_status")]
    facts = classify(story.history(), later=back, now=LATER)
    assert facts.recurred_30d_same is recurs and facts.recurred_30d_any is recurs
    assert not facts.recurred_7d_same and facts.outcome == "ai_resolved"


def test_recurrence_counts_only_conversations_started_after_the_end() -> None:
    story = answered().close("resolved", 60)
    overlapping = [LaterContact(started_at=at(30), topic="order_status")]
    facts = classify(story.history(), later=overlapping, now=LATER)
    assert not facts.recurred_30d_any


def test_an_unknown_topic_is_never_the_same_topic() -> None:
    story = answered().close("resolved", 2)
    story.topic = ""
    facts = classify(story.history(), later=[LaterContact(at(days=2), "")], now=LATER)
    assert facts.recurred_30d_any and not facts.recurred_30d_same


def test_a_customer_known_only_by_email_recurs_by_email() -> None:
    story = answered().close("resolved", 2)
    story.customer_key, story.account_id = "email:ana@example.com", ""
    back = [LaterContact(started_at=at(days=3), topic="order_status")]
    facts = classify(story.history(), later=back, now=LATER)
    assert facts.customer_key == "email:ana@example.com" and facts.account_id == ""
    assert facts.recurred_7d_same and facts.outcome == "deflected"
    # Without a store account there is no store behaviour to read: churn stays null.
    assert facts.repurchased_60d is None and facts.cancelled_60d is None


def test_an_unidentified_customer_never_recurs() -> None:
    story = answered().close("resolved", 2)
    story.customer_key = ""
    facts = classify(story.history(), later=[LaterContact(at(days=3), "order_status")], now=LATER)
    assert not facts.recurred_30d_any


# --- churn ---------------------------------------------------------------------------------


def test_churn_flags_are_null_until_60_days_have_passed() -> None:
    story = answered().close("resolved", 0)
    activity = StoreActivity(
        orders_at=(at(days=10),), subscriptions_ended_at=(at(days=59, minutes=59),)
    )
    early = classify(story.history(), now=at(days=59), activity=activity)
    assert early.repurchased_60d is None and early.cancelled_60d is None
    due = classify(story.history(), now=at(days=60), activity=activity)
    assert due.repurchased_60d is True and due.cancelled_60d is True


def test_churn_counts_only_the_60_days_after_the_end() -> None:
    story = answered().close("resolved", 0)
    activity = StoreActivity(orders_at=(at(-5), at(days=61)), subscriptions_ended_at=(at(days=-1),))
    facts = classify(story.history(), now=LATER, activity=activity)
    assert facts.repurchased_60d is False and facts.cancelled_60d is False
