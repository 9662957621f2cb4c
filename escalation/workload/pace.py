"""The queue's pace: how long the cases ahead take to clear, read off how many the desk cleared
in a recent window. One model for the console's expected wait (health.py, the mean) and the
customer's wait range (escalation/cases/estimate.py, percentiles), so the two never disagree.

Cases clear one at a time at a pace of `done` per `window` minutes. Treated as a Poisson stream
of rate λ, the wait until `ahead` more have cleared is Erlang(ahead, λ); its mean is Little's
law, ahead / λ. λ itself is only known from `done` events: with a Gamma(done, window) belief
about it, the wait is `window` * BetaPrime(ahead, done), so a thin history widens the range
instead of pretending to a precision it does not have. For a short wait, the seats are replayed
instead (`seats_wait_quantiles`): how long each busy seat's case has run already says when it
frees (docs/routing.md#the-customers-wait)."""

from __future__ import annotations

import bisect
import heapq
import math
import random


def wait_mean_minutes(*, ahead: int, done: int, window_minutes: float) -> float | None:
    """Little's law: the minutes until `ahead` cases clear at the window's pace. 0 with nothing
    ahead; None when nothing cleared in the window (the pace is unknown)."""
    if ahead <= 0:
        return 0.0
    if done <= 0:
        return None
    return ahead * window_minutes / done


def _beta_cdf(x: float, a: int, b: int) -> float:
    """The regularised incomplete beta I_x(a, b) for whole a, b: the chance that at least `a`
    of a + b - 1 trials of chance x succeed. `b` terms, in log space."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    n = a + b - 1
    log_x, log_1x = math.log(x), math.log1p(-x)
    log_n = math.lgamma(n + 1)
    return min(
        1.0,
        sum(
            math.exp(
                log_n - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * log_x + (n - j) * log_1x
            )
            for j in range(a, n + 1)
        ),
    )


def wait_quantile_minutes(*, ahead: int, done: int, window_minutes: float, q: float) -> float:
    """The q-quantile (0 < q < 1) of the minutes until `ahead` cases clear, given `done`
    cleared in the last `window_minutes` (done >= 1). 0 with nothing ahead."""
    if ahead <= 0:
        return 0.0
    if done <= 0:
        raise ValueError("no pace: nothing cleared in the window")
    low, high = 0.0, 1.0
    # Bisection on the Beta(ahead, done) quantile: 50 halvings is below a millisecond of wait.
    for _ in range(50):
        mid = (low + high) / 2
        if _beta_cdf(mid, ahead, done) < q:
            low = mid
        else:
            high = mid
    b = (low + high) / 2
    return window_minutes * b / (1.0 - b)


# Beyond this many turns of every busy seat, or this many seats, the Poisson model above is
# close enough and far cheaper than replaying the seats (a replay costs samples x (seats +
# ahead) draws).
REPLAY_TURNS_PER_SEAT = 2
REPLAY_MAX_SEATS = 60


def seats_wait_quantiles(
    *,
    ages: list[float],
    handles: list[float],
    ahead: int,
    quantiles: tuple[float, ...],
    samples: int = 100,
    seed: int = 0,
) -> tuple[float, ...] | None:
    """The quantiles of the minutes until `ahead` seats free up, replaying the seats: each
    busy seat (a case held for `ages[i]` minutes) frees after a handling time drawn from the
    recent `handles` that are longer than its age, minus the age, and then takes the next
    case, which lasts a fresh draw. A seat's next free moment depends on how long its case has
    run already: with handling times more regular than a Poisson stream (most desks), cases
    near their typical length free their seats sooner than a memoryless model says. None when
    `ahead` is beyond REPLAY_TURNS_PER_SEAT turns of every seat or there are more than
    REPLAY_MAX_SEATS seats (use the Poisson model), or there is nothing to replay. Seeded:
    the same inputs give the same answer, so a widget's figure does not flicker."""
    if ahead <= 0:
        return tuple(0.0 for _ in quantiles)
    if not ages or not handles or ahead > REPLAY_TURNS_PER_SEAT * len(ages):
        return None
    if len(ages) > REPLAY_MAX_SEATS:
        return None
    ordered = sorted(handles)
    n = len(ordered)
    rng = random.Random(seed)
    waits = []
    for _ in range(samples):
        free_at = []
        for age in ages:
            longer = bisect.bisect_right(ordered, age)
            # A case already longer than anything seen lately: its remaining time is unknown;
            # take a fresh handling time rather than none.
            h = ordered[rng.randrange(longer, n)] - age if longer < n else rng.choice(ordered)
            free_at.append(h)
        heapq.heapify(free_at)
        t = 0.0
        for _ in range(ahead):
            t = heapq.heappop(free_at)
            heapq.heappush(free_at, t + ordered[rng.randrange(n)])
        waits.append(t)
    waits.sort()
    return tuple(waits[min(samples - 1, int(q * samples))] for q in quantiles)
