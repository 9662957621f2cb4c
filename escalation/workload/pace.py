"""The queue's pace: how long the cases ahead take to clear, read off how many the desk cleared
in a recent window. One model for the console's expected wait (health.py, the mean) and the
customer's wait range (escalation/cases/estimate.py, percentiles), so the two never disagree.

Cases clear one at a time at a pace of `done` per `window` minutes. Treated as a Poisson stream
of rate λ, the wait until `ahead` more have cleared is Erlang(ahead, λ); its mean is Little's
law, ahead / λ. λ itself is only known from `done` events: with a Gamma(done, window) belief
about it, the wait is `window` * BetaPrime(ahead, done), so a thin history widens the range
instead of pretending to a precision it does not have (docs/routing.md#the-customers-wait)."""

from __future__ import annotations

import math


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
