"""The case page over HTTP (issue 10): no cached pages, stale clicks, long texts, the controls
a person is shown, and what a GET on a write does."""

from __future__ import annotations

import pytest

from conversations.models import Event
from desk.limits import NOTE_MAX_CHARS, REPLY_MAX_CHARS
from escalation.cases.lifecycle import case_resolve
from escalation.cases.routing import case_pick
from escalation.models import AgentProfile, Case, CaseEvent, HandoffPacket
from tests.conftest import Desk
from tests.desk.conftest import HTMX, fragment
from tests.factories import agent_user

# --- Back never shows a stale page; a stale click is told so (#5) --------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_desk_pages_and_fragments_are_never_stored(desk: Desk, htmx: bool) -> None:
    headers = HTMX if htmx else {}
    for url in (desk.url("case"), "/"):
        response = desk.client.get(url, headers=headers)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_a_stale_resolve_is_told_it_was_already_done(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    case_resolve(case_id=desk.case.pk, user=desk.maya, outcome=Case.Outcome.RESOLVED)
    html = fragment(desk.client.post(desk.url("resolve"), {"outcome": "handed_back"}, headers=HTMX))
    assert "already resolved" in html
    assert "by Maya" in html
    assert "nothing was changed" in html.lower()
    assert "resolved: Handed back" not in html
    desk.case.refresh_from_db()
    assert desk.case.outcome == Case.Outcome.RESOLVED


def test_a_stale_reply_is_told_the_case_was_resolved_and_nothing_is_sent(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    case_resolve(case_id=desk.case.pk, user=desk.maya, outcome=Case.Outcome.RESOLVED)
    response = desk.client.post(desk.url("reply"), {"text": "Late words"}, headers=HTMX)
    html = fragment(response)
    assert "already resolved" in html
    assert "was not sent" in html
    assert "HX-Trigger" not in response
    assert not Event.objects.filter(conversation=desk.case.conversation, text="Late words")


def test_a_stale_take_says_who_has_the_case(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.leo)
    html = fragment(desk.client.post(desk.url("take"), headers=HTMX))
    assert "Leo has this case" in html
    case_resolve(case_id=desk.case.pk, user=desk.leo, outcome=Case.Outcome.RESOLVED)
    html = fragment(desk.client.post(desk.url("take"), headers=HTMX))
    assert "already resolved by Leo" in html


def test_taking_a_case_one_already_holds_is_not_an_error(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    html = fragment(desk.client.post(desk.url("take"), headers=HTMX))
    assert "You have this case already" in html
    assert 'class="error"' not in html
    assert desk.case.timeline.filter(kind=CaseEvent.Kind.ASSIGNED).count() == 1


# --- long replies and notes are refused whole, never cut (#4) ------------------------------


def test_an_over_long_reply_is_refused_and_kept_in_the_box(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    text = "word " * 900 + "the end of what I meant to say."
    assert len(text) > REPLY_MAX_CHARS
    response = desk.client.post(desk.url("reply"), {"text": text})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{len(text):,} characters" in html and f"{REPLY_MAX_CHARS:,}" in html
    assert "was not sent" in html
    assert "the end of what I meant to say." in html  # still in the box, whole
    assert not Event.objects.filter(conversation=desk.case.conversation, text__startswith="word")
    response = desk.client.post(desk.url("reply"), {"text": text}, headers=HTMX)
    assert "HX-Trigger" not in response
    assert "was not sent" in fragment(response)

    exact = "x" * REPLY_MAX_CHARS
    desk.client.post(desk.url("reply"), {"text": exact})
    assert (
        Event.objects.get(conversation=desk.case.conversation, text__startswith="x").text == exact
    )


def test_an_over_long_note_is_refused_and_kept_in_its_field(desk: Desk) -> None:
    text = "n" * NOTE_MAX_CHARS + "END"
    html = fragment(desk.client.post(desk.url("note"), {"text": text}, headers=HTMX))
    assert "was not added" in html
    assert f'value="{text}"' in html
    assert not desk.case.timeline.filter(kind=CaseEvent.Kind.NOTE).exists()


def test_the_reply_and_note_fields_show_their_limits(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert f'data-limit="{REPLY_MAX_CHARS}"' in html
    assert f'data-limit="{NOTE_MAX_CHARS}"' in html


# --- only the controls a person may use, and why the rest are not there (#14) --------------


def test_another_agents_case_shows_who_holds_it_and_offers_a_note_not_a_dead_reply_box(
    desk: Desk,
) -> None:
    case_pick(case_id=desk.case.pk, user=desk.leo)
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert 'id="reply-text"' not in html
    assert "disabled" not in html
    assert desk.url("reply") not in html
    assert "Leo has this case" in html
    assert desk.url("note") in html  # what Maya can do instead
    assert "Take this case" not in html


def test_the_holder_gets_the_reply_box_with_a_live_send(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert 'id="reply-text"' in html
    assert "disabled" not in html


def test_a_queued_case_says_to_take_it_to_reply(desk: Desk) -> None:
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert "Take this case" in html
    assert 'id="reply-text"' not in html
    assert "Take this case to reply" in html


def test_take_is_not_offered_without_the_cases_skill_and_the_page_says_why(desk: Desk) -> None:
    Case.objects.filter(pk=desk.case.pk).update(topic="bereavement", required_skill="bereavement")
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert "Take this case" not in html
    assert 'data-key="t"' not in html
    assert "needs the bereavement skill, which you do not have" in html
    AgentProfile.objects.filter(user=desk.maya).update(skills=["bereavement"])
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert "Take this case" in html


# --- the layout: the summary once, the order under discussion marked (#12) -----------------


def test_the_summary_is_shown_once_as_facts_not_again_as_a_paragraph(desk: Desk) -> None:
    HandoffPacket.objects.filter(case=desk.case).update(
        data={
            "summary": {
                "text": "Customer wants: a refund of $150. Still open: the refund.",
                "customer_wants": "a refund of $150",
                "still_open": "the refund",
                "customer_feeling": "upset",
            }
        }
    )
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert html.count("a refund of $150") == 1
    assert 'class="summary-text"' not in html
    # A packet with only a text (no facts) still shows it.
    HandoffPacket.objects.filter(case=desk.case).update(data={"summary": {"text": "Just this."}})
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert "Just this." in html


def test_the_order_under_discussion_is_marked_and_listed_first(desk: Desk) -> None:
    store = desk.store
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    account = html[html.index('id="account"') :]
    discussed = account.index('<li class="order discussed"')
    assert account.index(store.delivered.order_id) > discussed
    assert account.count("Under discussion") == 1
    first_order = account.index('<li class="order')
    assert first_order == discussed


# --- smaller points (#16) ------------------------------------------------------------------


def test_notes_appear_inline_in_the_conversation_marked_internal(desk: Desk) -> None:
    desk.client.post(desk.url("note"), {"text": "Boots were defective."})
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    transcript = html[
        html.index('id="transcript"') : html.index("</section>", html.index('id="transcript"'))
    ]
    assert "Boots were defective." in transcript
    assert 'class="note-inline"' in transcript and "internal note" in transcript


def test_the_agent_who_transferred_a_case_away_can_still_read_it(desk: Desk) -> None:
    from escalation.models import Team

    Team.objects.get_or_create(slug="warranty", defaults={"name": "Warranty"})
    case_pick(case_id=desk.case.pk, user=desk.maya)
    desk.client.post(desk.url("transfer"), {"target": "team:warranty", "note": "warranty claim"})
    response = desk.client.get(desk.url("case"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "You transferred this case to warranty" in html
    for name in ("reply", "note", "transfer", "resolve", "take", "approve"):
        assert desk.url(name) not in html, name
    refused = desk.client.post(desk.url("note"), {"text": "x"}, headers=HTMX)
    assert "no longer add notes" in fragment(refused)
    assert not desk.case.timeline.filter(kind=CaseEvent.Kind.NOTE).exists()
    # Someone of another team who never had it still gets nothing.
    outsider = agent_user(username="olga")
    from escalation.models import AgentProfile as Profile

    Profile.objects.get(user=outsider).teams.add(Team.objects.get(slug="warranty"))
    Case.objects.filter(pk=desk.case.pk).update(team="general")
    desk.client.force_login(outsider)
    assert desk.client.get(desk.url("case")).status_code == 404
