"""Sentiment of one message: VADER's compound score, adjusted by a learned model of how
customers of a help desk feel.

VADER reads general English. A customer-service message carries its mood in words VADER
weighs as neutral ("still", "again", "the third call") or reads backwards (a bereaved customer
thanking the agent for closing an account). The adjustment is a linear model over hashed
n-grams (`learned.py`, weights in models/sentiment.json), fitted to the satisfaction of the
STC-3 dialogues by `bench/sentiment_cv.py`, which also measures it by cross-validation grouped
by dialogue. The engine adds domain cues on top (`escalation.analysis.mood_with_cues`).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from escalation.signals.learned import linear, model

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


# How the learned adjustment joins VADER's score: halved, and bounded so that it mostly adds
# the help-desk negativity VADER misses ("still", "again", "the third call") and cannot turn a
# neutral question into a frustrated one, nor add much to courtesies VADER already rewards. It
# learnt from one domain (STC-3's help desks); these bounds keep it from ruling another.
ADJUSTMENT_WEIGHT = 0.5
ADJUSTMENT_RANGE = (-0.3, 0.1)


def combine(vader_score: float, adjustment: float) -> float:
    """The sentiment from VADER's score and the model's raw adjustment, within -1..1."""
    low, high = ADJUSTMENT_RANGE
    shift = max(low, min(high, ADJUSTMENT_WEIGHT * adjustment))
    return max(-1.0, min(1.0, vader_score + shift))


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    # Built on first use: loading the lexicon takes a few tens of milliseconds.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader(text: str) -> float:
    """VADER compound score of `text` alone (the old detector and the baseline of the bench)."""
    if not text or not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])


def sentiment(text: str) -> float:
    """Sentiment of `text`, from -1 (most negative) to 1 (most positive)."""
    if not text or not text.strip():
        return 0.0
    return combine(vader(text), linear(model("sentiment"), text))
