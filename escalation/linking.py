"""Links from a conversation's entities to the store: which customer this is, and which orders.

Only what the customer wrote is evidence of who they are; the AI may have guessed, misread or
been told something by someone else. A link is made only when the evidence points at exactly one
customer, and only that customer's orders are linked, so an agent is never shown a stranger's
account. Whatever the conversation's length, linking costs at most two queries.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Q
from django.db.models.functions import Lower

from escalation.entities import Entity
from store.models import Customer, Order

CUSTOMER_ROLE = "customer"

# Bounds on what one conversation can make us look up, so a pasted list cannot blow up a query.
MAX_CANDIDATES = 10
MAX_LOOSE_CANDIDATES = 30
MAX_ORDER_IDS = 50

# Weaker evidence, used only as half of a name-plus-zip pair that must match exactly one
# customer: any five-digit number the customer wrote ("I live in Denver, 80280"), and any two or
# three capitalised words in a row ("Sure, Aarav Anderson, 19031").
_LOOSE_ZIP = re.compile(r"(?<![\w$€£#.,/-])(\d{5})(?:-\d{4})?(?![\w$€£%]|[.,/:]\d)")
_NAME_WORD = r"[A-Z][\w'\u2019-]*[a-z][\w'\u2019-]*"
_CAPITALISED_RUN = re.compile(
    rf"(?<![\w'\u2019-])(?=({_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{1,2}})\b)"
)


@dataclass(frozen=True)
class Link:
    customer_id: str | None
    order_ids: list[str] = field(default_factory=list)
    method: str | None = None


class CustomerCandidate(NamedTuple):
    customer_id: str
    first_name: str
    last_name: str
    email: str
    zip: str


NameSplit = tuple[str, str]


def _unique(values: Iterable[str], *, limit: int = MAX_CANDIDATES) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value not in seen:
            seen[value] = None
            if len(seen) == limit:
                break
    return list(seen)


def _name_splits(names: Iterable[str]) -> list[NameSplit]:
    """Lowercased (first, last) readings of names of two or three words: "Mary Ann Lee" may be
    first "Mary" or "Mary Ann", and "Yusuf Rossi Denver" may end after "Rossi"."""
    splits: dict[NameSplit, None] = {}
    for name in names:
        words = name.lower().split()
        if len(words) < 2:
            continue
        splits[(words[0], words[-1])] = None
        splits[(words[0], " ".join(words[1:]))] = None
        splits[(" ".join(words[:-1]), words[-1])] = None
        splits[(words[0], words[1])] = None
    return list(splits)


def customer_candidates(
    *,
    customer_ids: Sequence[str],
    emails: Sequence[str],
    names: Sequence[NameSplit],
    zips: Sequence[str],
) -> list[CustomerCandidate]:
    """Every customer any of the evidence could point at, in one query (none without evidence)."""
    condition = Q()
    if customer_ids:
        condition |= Q(customer_id__in=customer_ids)
    if emails:
        condition |= Q(email_lower__in=[email.lower() for email in emails])
    if names and zips:
        condition |= Q(zip__in=zips, last_name_lower__in={last for _first, last in names})
    if not condition:
        return []
    rows = (
        Customer.objects.annotate(email_lower=Lower("email"), last_name_lower=Lower("last_name"))
        .filter(condition)
        .values_list("customer_id", "first_name", "last_name", "email", "zip")
    )
    return [CustomerCandidate(*row) for row in rows]


def order_owners(*, order_ids: Sequence[str]) -> dict[str, str]:
    """Order id to its customer's id, for those of `order_ids` the store holds, in one query."""
    if not order_ids:
        return {}
    return dict(
        Order.objects.filter(order_id__in=order_ids).values_list(
            "order_id", "customer__customer_id"
        )
    )


def _only(matches: Iterable[str]) -> str | None:
    distinct = set(matches)
    return distinct.pop() if len(distinct) == 1 else None


def _by_name_and_zip(
    rows: Sequence[CustomerCandidate], *, names: Sequence[NameSplit], zips: Sequence[str]
) -> str | None:
    wanted = {(first, last, zip) for first, last in names for zip in zips}
    return _only(
        row.customer_id
        for row in rows
        if (row.first_name.lower(), row.last_name.lower(), row.zip) in wanted
    )


@dataclass(frozen=True)
class _Evidence:
    external_id: str
    stated_ids: list[str]
    emails: list[str]
    names: list[NameSplit]
    loose_names: list[NameSplit]
    zips: list[str]
    loose_zips: list[str]


def _choose_customer(
    rows: Sequence[CustomerCandidate], evidence: _Evidence
) -> tuple[str | None, str | None]:
    known_ids = {row.customer_id for row in rows}
    if evidence.external_id and evidence.external_id in known_ids:
        return evidence.external_id, "external_id"
    for stated in evidence.stated_ids:
        if stated in known_ids:
            return stated, "customer_id"
    for email in evidence.emails:
        found = _only(row.customer_id for row in rows if row.email.lower() == email)
        if found:
            return found, "email"
    # Stated names and zips first; the loose readings only when those find no one customer.
    all_zips = _unique([*evidence.zips, *evidence.loose_zips], limit=2 * MAX_LOOSE_CANDIDATES)
    for names, zips in (
        (evidence.names, evidence.zips),
        (evidence.names, all_zips),
        (evidence.loose_names, all_zips),
    ):
        found = _by_name_and_zip(rows, names=names, zips=zips)
        if found:
            return found, "name_zip"
    return None, None


def _evidence(
    *,
    turns: Sequence[tuple[str, str]],
    said: Sequence[Entity],
    external_id: str,
    email: str,
    name: str,
) -> _Evidence:
    def values(entity_type: str) -> list[str]:
        return _unique(entity.value for entity in said if entity.type == entity_type)

    stated_names = [entity.value for entity in said if entity.type == "person_name"]
    # "My first name is Noah, last name is Ito" arrives as two one-word names.
    paired = [
        f"{first} {last}"
        for first, last in itertools.pairwise(stated_names)
        if " " not in first and " " not in last
    ]
    customer_texts = [text for role, text in turns if role == CUSTOMER_ROLE]
    loose_names = _unique(
        (match.group(1) for text in customer_texts for match in _CAPITALISED_RUN.finditer(text)),
        limit=MAX_LOOSE_CANDIDATES,
    )
    return _Evidence(
        external_id=external_id.strip(),
        stated_ids=values("customer_id"),
        emails=_unique([email.strip().lower(), *values("email")]),
        names=_name_splits(_unique([*stated_names, *paired, name.strip()])),
        loose_names=_name_splits(loose_names),
        zips=values("zip"),
        loose_zips=_unique(
            (match.group(1) for text in customer_texts for match in _LOOSE_ZIP.finditer(text)),
            limit=MAX_LOOSE_CANDIDATES,
        ),
    )


def link_account(
    *,
    turns: Sequence[tuple[str, str]],
    entities: Sequence[Entity],
    external_id: str = "",
    email: str = "",
    name: str = "",
) -> Link:
    """The customer the conversation is about, and the orders of theirs the customer mentioned.

    `turns` are (role, text) pairs and `entities` were extracted from them, each `turn` being an
    index into `turns`. `external_id`, `email` and `name` come from the integration's customer
    reference. Evidence is tried in this order, and the first that points at exactly one
    customer wins:

    1. the external id, if it is a store customer id;
    2. a customer id the customer wrote ("my user id is yusuf_rossi_9620");
    3. an email, the reference's and then those the customer wrote, in order;
    4. a first and last name (stated, or the reference's) with a zip the customer gave.

    Orders are those the customer mentioned that belong to that customer, in first-mention
    order. Costs two queries at most, and none without evidence.
    """
    customer_turns = {index for index, (role, _text) in enumerate(turns) if role == CUSTOMER_ROLE}
    said = [entity for entity in entities if entity.turn in customer_turns]
    evidence = _evidence(turns=turns, said=said, external_id=external_id, email=email, name=name)
    rows = customer_candidates(
        customer_ids=_unique([evidence.external_id, *evidence.stated_ids]),
        emails=evidence.emails,
        names=[*evidence.names, *evidence.loose_names],
        zips=_unique([*evidence.zips, *evidence.loose_zips], limit=2 * MAX_LOOSE_CANDIDATES),
    )
    customer_id, method = _choose_customer(rows, evidence)
    if customer_id is None:
        return Link(customer_id=None, order_ids=[], method=None)
    mentioned = _unique(
        (entity.value for entity in said if entity.type == "order_id"), limit=MAX_ORDER_IDS
    )
    owners = order_owners(order_ids=mentioned)
    return Link(
        customer_id=customer_id,
        order_ids=[order_id for order_id in mentioned if owners.get(order_id) == customer_id],
        method=method,
    )
