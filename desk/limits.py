"""What a person may write in one box at the desk. Longer is refused whole, never cut: the
page counts as they type, and the server says so and keeps the text in its box."""

from __future__ import annotations

REPLY_MAX_CHARS = 4000
NOTE_MAX_CHARS = 4000
# Transfer and resolve notes (a hand-back's note goes to the AI, which takes 2,000).
SHORT_NOTE_MAX_CHARS = 2000

LIMITS = {
    "reply": REPLY_MAX_CHARS,
    "note": NOTE_MAX_CHARS,
    "short_note": SHORT_NOTE_MAX_CHARS,
}
