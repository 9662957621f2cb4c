"""The two reports of issue 12: churn after a contact, and the handoff gap in CSAT.

Both compare groups of contacts after direct standardisation by topic: a group's rate is the
average of its per-topic rates weighted by the topic mix of all the filters' contacts, so a
group that gets the harder topics is not read as a worse one. Topics a group has no contacts
in are left out of its average (the weights of the rest rescaled) and listed as
`missing_strata`; topics with fewer than SMALL_STRATUM contacts are listed as `small_strata`.
The methods and their limits are in docs/metrics.md ("Reports").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Value
from django.db.models.functions import Concat
from django.utils import timezone

from outcomes.filters import Filters
from outcomes.models import Contact, Path
from outcomes.sums import (
    AI_LONG_S,
    CHURN_DAYS,
    FACTORS,
    SMALL_STRATUM,
    WAIT_LONG_S,
    day_start,
    grouped,
    outcome_key,
    rate,
    total,
)
from store.models import Customer, Order, Subscription

_BY = ("topic", "path", "outcome", "confirmed", "abandoned_in_queue")
_GAP_COLUMNS = (
    "contacts",
    "rated",
    "rating_45",
    *(f"{f}{suffix}" for f in FACTORS for suffix in ("", "_rated", "_45")),
)
FACTOR_LABELS = {
    "wait_long": f"Waited over {WAIT_LONG_S / 60:g} min for a person",
    "ai_long": f"Over {AI_LONG_S / 60:g} min with the AI first",
    "repeated": "Had to repeat themselves",
    "cold_greeting": "Cold greeting",
}
OUTCOME_LABELS = {
    "ai_resolved_confirmed": "AI-resolved, confirmed",
    "ai_resolved_assumed": "AI-resolved, assumed",
    "deflected": "Deflected, not resolved",
    "abandoned": "Abandoned",
    "abandoned_in_queue": "Abandoned in the queue",
    "escalated": "Escalated",
}


def _outcome_of(row: dict[str, Any]) -> str:
    return outcome_key(
        outcome=row["outcome"],
        confirmed=row["confirmed"],
        abandoned_in_queue=row["abandoned_in_queue"],
    )


def topic_weights(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The topic mix of all the rows' contacts: the standard population."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["topic"]] = counts.get(row["topic"], 0) + row["contacts"]
    whole = sum(counts.values())
    return {t: n / whole for t, n in sorted(counts.items()) if n} if whole else {}


def standardised(strata: dict[str, tuple[int, int]], weights: dict[str, float]) -> dict[str, Any]:
    """A rate standardised to `weights` from per-topic (part, whole) counts, with the topics
    the group is missing and those it has too few contacts in."""
    present = {t: w for t, w in weights.items() if strata.get(t, (0, 0))[1] > 0}
    weight = sum(present.values())
    value = (
        sum(w * strata[t][0] / strata[t][1] for t, w in present.items()) / weight
        if weight
        else None
    )
    return {
        "rate": value,
        "missing_strata": [t for t in weights if t not in present],
        "small_strata": [t for t in present if strata[t][1] < SMALL_STRATUM],
    }


def _strata(
    rows: list[dict[str, Any]], part: str, whole: str, keep: Callable[[dict[str, Any]], bool]
) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for row in rows:
        if keep(row):
            p, w = out.get(row["topic"], (0, 0))
            out[row["topic"]] = (p + row[part], w + row[whole])
    return out


def _topics(rows: list[dict[str, Any]], weights: dict[str, float]) -> list[dict[str, Any]]:
    return [
        {"topic": t, "contacts": total(rows, topic=t)["contacts"], "weight": w}
        for t, w in weights.items()
    ]


# Churn


def _churn_group(
    key: str,
    label: str,
    rows: list[dict[str, Any]],
    weights: dict[str, float],
    keep: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    mine = [r for r in rows if keep(r)]
    s = total(mine)
    repurchase = standardised(_strata(mine, "repurchased", "churn_eligible", keep), weights)
    cancel = standardised(_strata(mine, "cancelled", "churn_eligible", keep), weights)
    return {
        "key": key,
        "label": label,
        "contacts": s["contacts"],
        "n": s["churn_eligible"],
        "repurchase_60d": rate(s["repurchased"], s["churn_eligible"]),
        "cancel_60d": rate(s["cancelled"], s["churn_eligible"]),
        "repurchase_60d_std": repurchase["rate"],
        "cancel_60d_std": cancel["rate"],
        "missing_strata": repurchase["missing_strata"],
        "small_strata": repurchase["small_strata"],
    }


def churn_comparison(filters: Filters) -> dict[str, Any]:
    """Store customers (of the filters' tier, if any) who existed at the range's start and
    started no conversation in the range, over CHURN_DAYS from the range's start. One query,
    or none while those days have not all passed or while the figures are kept in the cache
    (BATON_METRICS_COMPARISON_CACHE_SECONDS)."""
    start = day_start(filters.since)
    end = start + timedelta(days=CHURN_DAYS)
    range_end = day_start(filters.until + timedelta(days=1))
    out: dict[str, Any] = {
        "measured_from": filters.since.isoformat(),
        "measured_until": (filters.since + timedelta(days=CHURN_DAYS - 1)).isoformat(),
        "measurable": end <= timezone.now(),
        "n": None,
        "repurchase_60d": None,
        "cancel_60d": None,
    }
    if not out["measurable"]:
        return out
    seconds = settings.BATON_METRICS_COMPARISON_CACHE_SECONDS
    key = f"outcomes:churn-comparison:{filters.since}:{filters.until}:{quote(filters.tier)}"
    if seconds and (kept := cache.get(key)) is not None:
        return {**out, **kept}
    # A conversation started in the range (of any topic or team) makes a contacted customer.
    contacted = Contact.objects.filter(
        customer_key=Concat(Value("acct:"), OuterRef("customer_id")),
        started_at__gte=start,
        started_at__lt=range_end,
    )
    customers = Customer.objects.filter(created_at__lt=start).exclude(Exists(contacted))
    if filters.tier:
        customers = customers.filter(tier=filters.tier)
    got = customers.aggregate(
        n=Count("pk"),
        repurchased=Count(
            "pk",
            filter=Exists(
                Order.objects.filter(
                    customer=OuterRef("pk"), created_at__gte=start, created_at__lt=end
                )
            ),
        ),
        cancelled=Count(
            "pk",
            filter=Exists(
                Subscription.objects.filter(
                    customer=OuterRef("pk"), ended_at__gte=start, ended_at__lt=end
                )
            ),
        ),
    )
    figures = {
        "n": got["n"],
        "repurchase_60d": rate(got["repurchased"], got["n"]),
        "cancel_60d": rate(got["cancelled"], got["n"]),
    }
    if seconds:
        cache.set(key, figures, seconds)
    return {**out, **figures}


def churn_report(filters: Filters) -> dict[str, Any]:
    """Repurchase and cancellation within 60 days after a contact, by path and by outcome,
    raw and standardised by topic, beside customers who had no contact. Only measured
    contacts count (`n`: their 60 days have passed and they have a store account); `pending`
    are the rest. Two queries."""
    rows = grouped(filters, _BY, ("contacts", "churn_eligible", "repurchased", "cancelled"))
    weights = topic_weights(rows)
    s = total(rows)
    by_path = [
        _churn_group(p, Path(p).label, rows, weights, lambda r, p=p: r["path"] == p)
        for p in Path.values
    ]
    by_outcome = [
        _churn_group(k, label, rows, weights, lambda r, k=k: _outcome_of(r) == k)
        for k, label in OUTCOME_LABELS.items()
    ]
    everyone = _churn_group("all", "All contacts", rows, weights, lambda r: True)
    comparison = churn_comparison(filters)
    return {
        "filters": filters.as_dict(),
        "days": CHURN_DAYS,
        "contacts": s["contacts"],
        "eligible": s["churn_eligible"],
        "pending": s["contacts"] - s["churn_eligible"],
        "all": everyone,
        "by_path": by_path,
        "by_outcome": by_outcome,
        "comparison": comparison,
        "topics": _topics(rows, weights),
        "caveats": _churn_caveats(filters, s, [everyone, *by_path, *by_outcome], comparison),
    }


def _churn_caveats(
    filters: Filters,
    s: dict[str, int],
    groups: list[dict[str, Any]],
    comparison: dict[str, Any],
) -> list[str]:
    caveats = [
        "Observational: these rates describe what followed a contact, not what the contact "
        "caused. Nothing here was assigned at random.",
        "Selection: customers contact support because something went wrong, so they are "
        "expected to churn more than customers who did not, whatever support did. Paths are "
        "not chosen at random either: who asks for a person at once, or whom a rule "
        "escalates, differs from whom the AI keeps.",
        "Standardising to the topic mix of all contacts in the filter removes differences of "
        "topic mix only, not differences within a topic (how bad the problem was, the "
        "customer's value or history).",
        "Repurchases and cancellations come from the store's orders and subscriptions: "
        "contacts of customers with no store account are not measured. A customer with "
        "several contacts counts once per contact.",
        f"The comparison group is store customers who started no conversation in the range, "
        f"measured over "
        f"{CHURN_DAYS} days from the range's start, not from a contact; it has no topic, so it "
        "is not standardised.",
    ]
    if s["contacts"] > s["churn_eligible"]:
        caveats.append(
            f"Censoring: {s['contacts'] - s['churn_eligible']} of {s['contacts']} contacts are "
            f"not measured: they ended less than {CHURN_DAYS} days ago, or their customer has "
            "no store account. A range that ends recently is measured on its earlier part."
        )
    if not comparison["measurable"]:
        caveats.append(
            f"The comparison group's {CHURN_DAYS} days (to {comparison['measured_until']}) have "
            "not passed yet: there is no comparison for this range."
        )
    small = sorted({t or "(no topic)" for g in groups for t in g["small_strata"]})
    if small:
        caveats.append(
            f"Small strata: some groups have fewer than {SMALL_STRATUM} measured contacts in "
            f"{', '.join(small)}; their rates can move a lot by chance."
        )
    if s["churn_eligible"] < SMALL_STRATUM:
        caveats.append(
            f"Only {s['churn_eligible']} contacts are measured: too few to tell groups apart."
        )
    return caveats


# The handoff gap


def _difference(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def compare(
    a: dict[str, tuple[int, int]], b: dict[str, tuple[int, int]], weights: dict[str, float]
) -> dict[str, Any]:
    """Two groups' rates standardised over the topics both have contacts in (weights
    rescaled), so a topic only one group has does not tilt the difference `a - b`."""
    both = {t: w for t, w in weights.items() if a.get(t, (0, 0))[1] and b.get(t, (0, 0))[1]}
    rate_a = standardised(a, both)["rate"]
    rate_b = standardised(b, both)["rate"]
    return {
        "a": rate_a,
        "b": rate_b,
        "difference": _difference(rate_a, rate_b),
        "strata": list(both),
        "dropped_strata": [t for t in weights if t not in both],
        "small_strata": [t for t in both if min(a[t][1], b[t][1]) < SMALL_STRATUM],
    }


def _ratings(rows: list[dict[str, Any]], path: str, part: str, whole: str) -> dict[str, Any]:
    return _strata(rows, part, whole, lambda r: r["path"] == path)


def handoff_gap_report(filters: Filters) -> dict[str, Any]:
    """CSAT (the share of 4-5 ratings) of ai_then_human against human_direct, standardised by
    topic, and for each handoff factor: how common it is among ai_then_human contacts, CSAT
    with and without it, and the gap with and without it. One query."""
    rows = grouped(filters, ("topic", "path"), _GAP_COLUMNS)
    weights = topic_weights(rows)
    human = _ratings(rows, Path.HUMAN_DIRECT, "rating_45", "rated")
    main = compare(_ratings(rows, Path.AI_THEN_HUMAN, "rating_45", "rated"), human, weights)
    paths: dict[str, Any] = {}
    for path, std in ((Path.AI_THEN_HUMAN, main["a"]), (Path.HUMAN_DIRECT, main["b"])):
        s = total(rows, path=path)
        paths[path] = {
            "contacts": s["contacts"],
            "rated": s["rated"],
            "csat": rate(s["rating_45"], s["rated"]),
            "csat_std": std,
        }
    ath = total(rows, path=Path.AI_THEN_HUMAN)
    without_rows = [
        {
            **r,
            **{f"{f}_without_45": r["rating_45"] - r[f"{f}_45"] for f in FACTORS},
            **{f"{f}_without_rated": r["rated"] - r[f"{f}_rated"] for f in FACTORS},
        }
        for r in rows
    ]
    factors = []
    for name in FACTORS:
        with_ = compare(
            _ratings(rows, Path.AI_THEN_HUMAN, f"{name}_45", f"{name}_rated"), human, weights
        )
        without = compare(
            _ratings(
                without_rows, Path.AI_THEN_HUMAN, f"{name}_without_45", f"{name}_without_rated"
            ),
            human,
            weights,
        )
        rated_without = ath["rated"] - ath[f"{name}_rated"]
        factors.append(
            {
                "key": name,
                "label": FACTOR_LABELS[name],
                "contacts": ath[name],
                "share": rate(ath[name], ath["contacts"]),
                "rated_with": ath[f"{name}_rated"],
                "csat_with": rate(ath[f"{name}_45"], ath[f"{name}_rated"]),
                "rated_without": rated_without,
                "csat_without": rate(ath["rating_45"] - ath[f"{name}_45"], rated_without),
                "gap_with": with_["difference"],
                "gap_without": without["difference"],
                # How much of the gap is gone among the contacts spared this factor.
                "explained": _difference(main["difference"], without["difference"]),
                "small_strata": sorted(set(with_["small_strata"]) | set(without["small_strata"])),
            }
        )
    return {
        "filters": filters.as_dict(),
        "thresholds": {"wait_long_s": WAIT_LONG_S, "ai_long_s": AI_LONG_S},
        "paths": paths,
        "gap": main["difference"],
        "gap_raw": _difference(paths[Path.AI_THEN_HUMAN]["csat"], paths[Path.HUMAN_DIRECT]["csat"]),
        "strata": main["strata"],
        "dropped_strata": main["dropped_strata"],
        "small_strata": main["small_strata"],
        "factors": factors,
        "topics": _topics(rows, weights),
        "caveats": _gap_caveats(paths, main, factors),
    }


def _gap_caveats(
    paths: dict[str, Any], main: dict[str, Any], factors: list[dict[str, Any]]
) -> list[str]:
    caveats = [
        "Observational: a factor that goes with a lower rating is not shown to cause it.",
        "Selection: human_direct customers asked for a person at once or were routed by a "
        "rule; they and their problems differ from those who tried the AI first (the AI "
        "keeps the easier ones).",
        "The factors come together (a long time with the AI often means a long wait too), so "
        "the parts of the gap they go with overlap and do not add up.",
        "Only rated contacts count, and who rates is not random: see each path's rated count "
        "against its contacts.",
        "Standardised by topic only; differences within a topic remain.",
        f"The thresholds ({WAIT_LONG_S / 60:g} min wait, {AI_LONG_S / 60:g} min with the AI) "
        "were fixed before looking at any data, not fitted to it. Repeats are detected "
        "automatically and can be missed or over-found.",
    ]
    if main["dropped_strata"]:
        caveats.append(
            "Left out of the comparison, as only one path has rated contacts in them: "
            + ", ".join(t or "(no topic)" for t in main["dropped_strata"])
            + "."
        )
    small = sorted(
        {t or "(no topic)" for t in main["small_strata"]}
        | {t or "(no topic)" for f in factors for t in f["small_strata"]}
    )
    if small:
        caveats.append(
            f"Small strata: fewer than {SMALL_STRATUM} rated contacts in {', '.join(small)} "
            "for some group; their rates can move a lot by chance."
        )
    if any(p["rated"] < SMALL_STRATUM for p in paths.values()):
        caveats.append(
            f"Fewer than {SMALL_STRATUM} rated contacts on a path: too few to read a gap."
        )
    return caveats
