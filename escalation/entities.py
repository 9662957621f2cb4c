"""Entities in one message, with their spans: what the handoff packet shows and links to records.

Extraction is deterministic and needs no network. Every pattern is compiled at import; product
names are matched through a word index built once per process from the store's catalogue
(`product_names()`, cached for a minute).

Values are normalised so that the same thing said two ways compares equal: order ids in the
store's "#W1234567" form, emails lowercased, phones as "+15551234567", amounts as "12.50", dates
as ISO ("2025-03-14", or "--03-14" when no year was said; "yesterday" as said), products as the
catalogue names them. Spans are offsets into the text given.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

ENTITY_TYPES = (
    "order_id",
    "email",
    "phone",
    "amount",
    "date",
    "tracking_number",
    "product",
    "zip",
    "person_name",
    "customer_id",
)


@dataclass(frozen=True)
class Entity:
    type: str
    value: str
    start: int
    end: int
    turn: int


# Earlier types win where spans overlap: an email holds digits that look like a phone or a zip,
# an order number said as such is not also a phone, and so on.
_PRIORITY = {
    "email": 0,
    "customer_id": 1,
    "order_id": 2,
    "tracking_number": 3,
    "phone": 4,
    "date": 5,
    "amount": 6,
    "zip": 7,
    "product": 8,
    "person_name": 9,
}

_HAS_DIGIT = re.compile(r"\d")
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)

# The store's own order ids, with or without the "#".
_STORE_ORDER = re.compile(r"(?<![\w#])#?\s?W(\d{7})(?!\d)", re.IGNORECASE)

# "order 1234567", "order number: 112-1234567-1234567", "orders #1234567 and #7654321".
_ORDER_KEYWORD = re.compile(
    r"\b(?:order|purchase|confirmation)s?\b"
    r"(?:\s*(?:numbers?|nos?|nums?|ids?|ref(?:erence)?s?|codes?)\b\.?)?"
    r"(?:\s*(?:(?:is|was|are|were)\b|=))?\s*[:#]?\s*",
    re.IGNORECASE,
)
_ORDER_NUMBER = re.compile(r"#?\s?(?:W(?=\d{7}(?!\d)))?([A-Z]{0,3}\d(?:[\d-]*\d)?)(?![\w-])", re.I)
_LIST_SEPARATOR = re.compile(r"\s*(?:,\s*(?:and|or|&)?|and|or|&|/)\s*", re.IGNORECASE)

_TRACKING_UPS = re.compile(r"\b1Z[0-9A-Z]{16}\b", re.IGNORECASE)
_LONG_DIGITS = re.compile(r"(?<![\w.,-])(\d{12}|\d{15}|\d{20}|\d{22})(?![\w-])")
_TRACKING_CONTEXT = re.compile(
    r"\b(?:track(?:ing)?|ups|fedex|usps|dhl|shipment|shipping|parcel|package|waybill)\b",
    re.IGNORECASE,
)

_PHONE = re.compile(
    r"(?<![\w+])"
    r"(?:"
    r"(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
    r"|\+\d{1,3}[\s.-]?\d{2,4}(?:[\s.-]?\d{2,4}){2,4}"
    r"|\+1\d{10}"
    r")(?![\w-])"
)
_BARE_PHONE = re.compile(r"(?<![\w+])(1?\d{10})(?![\w-])")
_PHONE_CONTEXT = re.compile(
    r"\b(?:phone|call|cell|mobile|tel(?:ephone)?|text|sms|reach me|contact number)\b", re.I
)

_AMOUNT_NUMBER = r"\d{1,3}(?:,\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?<![\w.,])(?:"
    rf"(?P<sym>[$€£])\s?(?P<a1>{_AMOUNT_NUMBER})"
    rf"|(?P<code>USD|EUR|GBP|CAD|AUD)\s?(?P<a2>{_AMOUNT_NUMBER})"
    rf"|(?P<a3>{_AMOUNT_NUMBER})\s?(?:[$€£]|(?:USD|EUR|GBP|CAD|AUD)\b|(?:dollars?|bucks|euros?|pounds)\b)"
    rf")(?![\d])",
    re.IGNORECASE,
)

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
_SLASH_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\d/])")
_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}})\b)?",
    re.IGNORECASE,
)
_DAY_MONTH = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b(?:,?\s+(?P<year>\d{{4}})\b)?",
    re.IGNORECASE,
)
_RELATIVE_DATE = re.compile(
    r"\b(?:yesterday|today|tomorrow|the day before yesterday"
    r"|(?:last|this|next) (?:week|month|year|weekend"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|\d+ (?:days?|weeks?|months?) ago)\b",
    re.IGNORECASE,
)

_ZIP_AFTER = re.compile(
    r"\b(?:zip|postal)(?:[\s-]?code)?s?\b[^\d\n.?!]{0,24}?(?<![\d-])(\d{5})(?:-\d{4})?(?!\d)",
    re.IGNORECASE,
)
_ZIP_BEFORE = re.compile(
    r"(?<![\d-])(\d{5})(?:-\d{4})?\s+(?:is\s+)?(?:my|the)?\s*(?:zip|postal)", re.IGNORECASE
)
# "I live in Denver, 80280", "residing in San Antonio, 78260": a place said, then five digits.
_ZIP_RESIDENCE = re.compile(
    r"\b(?:live[sd]?|living|resid(?:e|es|ing)|located|based|from|moved\s+to)\b"
    r"[^\d\n.?!$€£#]{0,40}?(?<![\d-])(\d{5})(?:-\d{4})?(?![\d.,]?\d)",
    re.IGNORECASE,
)
_FIVE_DIGITS = re.compile(r"(?<!\d)\d{5}(?!\d)")
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH"
    "|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_ZIP_IN_ADDRESS = re.compile(rf"\b(?:{_STATES}),?\s+(\d{{5}})(?:-\d{{4}})?(?!\d)")

# A store account id said outright: "my user id is yusuf_rossi_9620", "I am mei_kovacs_8020".
_CUSTOMER_ID_KEYWORD = re.compile(
    r"\b(?:user|customer|account|member)[\s_-]?(?:id|name|number)\b(?:\s+(?:is|was))?\s*[:#]?\s*"
    r"([A-Za-z][\w.-]*\d[\w.-]*|[a-z]+(?:_[a-z0-9]+)+)",
    re.IGNORECASE,
)
_CUSTOMER_ID_SHAPE = re.compile(r"(?<![\w@.])([a-z]+(?:_[a-z]+)+_\d{3,})(?![\w@])")

# "my name is yusuf rossi" states a name whatever the case; "last name is Rossi" when it is
# capitalised; "I'm Yusuf Rossi" and "this is Yusuf Rossi" only when two or three words are
# capitalised ("I'm so tired" is no name). Each trigger: (pattern, any case, fewest words).
_NAME_TRIGGERS = (
    (
        re.compile(
            r"\b(?:my\s+(?:full\s+|first\s+|last\s+)?name\s+(?:is|was)|my\s+name['\u2019]s|name\s*:)\s*",
            re.IGNORECASE,
        ),
        True,
        1,
    ),
    (
        re.compile(
            r"\b(?:(?:full\s+|first\s+|last\s+)?name\s+(?:is|was)|(?:first|last)\s+name\s*:?)\s+",
            re.IGNORECASE,
        ),
        False,
        1,
    ),
    (
        re.compile(
            r"\b(?:I['\u2019]m|I\s+am|Im|this\s+is|it['\u2019]s|it\s+is|called|named|my\s+name\s*[,-]?)\s+",
            re.IGNORECASE,
        ),
        False,
        2,
    ),
)
_NAME_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'\u2019-]*")
_NOT_NAME_WORDS = frozenset(
    """
    a an and the in at from of on with by for to or but so as is am are was were be been not
    no yes very just really also still here there calling writing contacting trying looking
    having getting going sorry sure happy glad sad upset angry mad frustrated tired confused
    disappointed interested unable able afraid worried concerned done ok okay fine good
    great well about again now then because since if when where which who what that this it
    i me my your you we our they their he she his her please thanks thank hi hello hey dear
    customer user order account email zip postal code living located based wondering
    currently waiting new back ready over
    """.split()  # noqa: SIM905
)


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _store_order(digits: str) -> str:
    return f"#W{digits}"


def _order_ids(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _STORE_ORDER.finditer(text):
        yield _store_order(match.group(1)), match.start(), match.end()
    for keyword in _ORDER_KEYWORD.finditer(text):
        position = keyword.end()
        while True:
            number = _ORDER_NUMBER.match(text, position)
            if number is None:
                break
            token = number.group(1)
            digits = sum(ch.isdigit() for ch in token)
            if digits == 7 and token.isdigit():
                yield _store_order(token), number.start(), number.end()
            elif digits >= 6:
                yield token.upper(), number.start(), number.end()
            else:
                break
            separator = _LIST_SEPARATOR.match(text, number.end())
            if separator is None or separator.end() == number.end():
                break
            position = separator.end()


def _tracking_numbers(text: str) -> Iterator[tuple[str, int, int]]:
    if "1z" in text.lower():
        for match in _TRACKING_UPS.finditer(text):
            yield match.group().upper(), match.start(), match.end()
    for match in _LONG_DIGITS.finditer(text):
        if _TRACKING_CONTEXT.search(text[max(0, match.start() - 60) : match.start()]):
            yield match.group(1), match.start(1), match.end(1)


def _phone_value(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if raw.lstrip().startswith("+"):
        return f"+{digits}"
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return digits


def _phones(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _PHONE.finditer(text):
        yield _phone_value(match.group()), match.start(), match.end()
    for match in _BARE_PHONE.finditer(text):
        if _PHONE_CONTEXT.search(text[max(0, match.start() - 40) : match.start()]):
            yield _phone_value(match.group(1)), match.start(), match.end()


def _amount_value(number: str) -> str | None:
    if re.fullmatch(r"\d+,\d{1,2}", number):
        number = number.replace(",", ".")
    else:
        number = number.replace(",", "")
    try:
        return str(Decimal(number).quantize(Decimal("0.01")))
    except InvalidOperation:
        return None


def _amounts(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _AMOUNT.finditer(text):
        number = match.group("a1") or match.group("a2") or match.group("a3")
        value = _amount_value(number)
        if value is not None:
            yield value, match.start(), match.end()


def _iso(year: int | None, month: int, day: int) -> str | None:
    try:
        date(year or 2000, month, day)  # 2000 is a leap year, so "February 29" passes alone.
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


def _dates(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _ISO_DATE.finditer(text):
        value = _iso(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if value:
            yield value, match.start(), match.end()
    for match in _SLASH_DATE.finditer(text):
        month, day, year = (int(part) for part in match.groups())
        year = year + 2000 if year < 100 else year
        value = _iso(year, month, day)
        if value:
            yield value, match.start(), match.end()
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        for match in pattern.finditer(text):
            month_word = match.group("month")
            # "may" is far more often the verb: take it only when written as a name.
            if month_word.lower() == "may" and not month_word[0].isupper():
                continue
            year = int(match.group("year")) if match.group("year") else None
            value = _iso(year, _MONTHS[month_word[:3].lower()], int(match.group("day")))
            if value:
                yield value, match.start(), match.end()


def _relative_dates(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _RELATIVE_DATE.finditer(text):
        yield match.group().lower(), match.start(), match.end()


def _zips(text: str) -> Iterator[tuple[str, int, int]]:
    if _FIVE_DIGITS.search(text) is None:
        return
    for pattern in (_ZIP_AFTER, _ZIP_BEFORE, _ZIP_IN_ADDRESS, _ZIP_RESIDENCE):
        for match in pattern.finditer(text):
            yield match.group(1), match.start(1), match.end(1)


def _customer_ids(text: str) -> Iterator[tuple[str, int, int]]:
    if "_" not in text and _HAS_DIGIT.search(text) is None:
        return
    for pattern in (_CUSTOMER_ID_KEYWORD, _CUSTOMER_ID_SHAPE):
        for match in pattern.finditer(text):
            value = match.group(1).rstrip(".-")
            yield value, match.start(1), match.start(1) + len(value)


def _name_after(
    text: str, position: int, *, any_case: bool, min_words: int
) -> tuple[str, int, int] | None:
    spans: list[tuple[int, int]] = []
    cursor = position
    while len(spans) < 3:
        word = _NAME_WORD.match(text, cursor)
        if word is None:
            break
        token = word.group()
        possessive = token.lower().endswith(("'s", "\u2019s"))
        token = token[:-2] if possessive else token.rstrip("'\u2019-")
        if not token or token.lower() in _NOT_NAME_WORDS:
            break
        if not any_case and (not token[0].isupper() or (token.isupper() and len(token) > 1)):
            break
        spans.append((word.start(), word.start() + len(token)))
        gap = re.match(r"[ \t]+", text[word.end() :])
        if possessive or gap is None:
            break
        cursor = word.end() + gap.end()
    if len(spans) < min_words:
        return None
    parts = [text[start:end] for start, end in spans]
    if all(part.islower() for part in parts):
        parts = [part.capitalize() for part in parts]
    return " ".join(parts), spans[0][0], spans[-1][1]


def _person_names(text: str) -> Iterator[tuple[str, int, int]]:
    for pattern, any_case, min_words in _NAME_TRIGGERS:
        for match in pattern.finditer(text):
            found = _name_after(text, match.end(), any_case=any_case, min_words=min_words)
            if found:
                yield found


# The importer runs in another process than the engine: each process rereads the names this
# often, so a new catalogue reaches every worker without telling them.
PRODUCT_NAMES_TTL_SECONDS = 60


@functools.lru_cache(maxsize=2)
def _product_names(epoch: int) -> tuple[str, ...]:
    from store.models import Product

    return tuple(sorted(set(Product.objects.values_list("name", flat=True))))


def product_names() -> tuple[str, ...]:
    """The store's product names, reread at most once a minute; `product_names.cache_clear()`
    forgets them at once (after an import in this process, or in tests)."""
    return _product_names(int(time.monotonic() // PRODUCT_NAMES_TTL_SECONDS))


product_names.cache_clear = _product_names.cache_clear  # type: ignore[attr-defined]


_WORD = re.compile(r"[^\W_]+")


def _product_key(words: Iterable[str]) -> str:
    return "".join(word.lower() for word in words)


@dataclass(frozen=True)
class _Catalogue:
    # A name's key is its words run together in lower case, so "T-Shirt" is also found as
    # "t shirt" and "tshirt"; `prefixes` holds every key's word-boundary prefixes, so a walk
    # over the text's words stops as soon as no name can go on that way, and `starts` the words
    # a walk can begin with (prefixes and plural keys).
    names: dict[str, str]
    prefixes: frozenset[str]
    starts: frozenset[str]


@functools.cache
def _catalogue(names: tuple[str, ...]) -> _Catalogue:
    keys: dict[str, str] = {}
    prefixes: set[str] = set()
    for name in names:
        words = _WORD.findall(name)
        if not words:
            continue
        keys.setdefault(_product_key(words), name)
        prefixes.update(_product_key(words[: end + 1]) for end in range(len(words)))
    plurals = {f"{key}{suffix}" for key in keys for suffix in ("s", "es")}
    return _Catalogue(
        names=keys, prefixes=frozenset(prefixes), starts=frozenset(prefixes | plurals)
    )


def _singular(key: str, names: dict[str, str]) -> str | None:
    if key in names:
        return names[key]
    if key.endswith("s"):
        return names.get(key[:-1]) or (names.get(key[:-2]) if key.endswith("es") else None)
    return None


def _products(text: str) -> Iterator[tuple[str, int, int]]:
    """Product names as whole words, case-insensitively, the longest first; plurals count."""
    catalogue = _catalogue(product_names())
    if not catalogue.names:
        return
    lowered = text.lower()
    prefixes, names, starts = catalogue.prefixes, catalogue.names, catalogue.starts
    if starts.isdisjoint(_WORD.findall(lowered)):
        return
    spans = [match.span() for match in _WORD.finditer(lowered)]
    words = [lowered[start:end] for start, end in spans]
    after_match = 0
    for index in [index for index, word in enumerate(words) if word in starts]:
        if index < after_match:
            continue
        key = ""
        found: tuple[str, int] | None = None
        for last in range(index, len(words)):
            if last > index:
                gap = text[spans[last - 1][1] : spans[last][0]]
                if len(gap) != 1 or not (gap.isspace() or gap == "-"):
                    break
            key += words[last]
            name = _singular(key, names)
            if name is not None:
                found = (name, last)
            if key not in prefixes:
                break
        if found is not None:
            name, last = found
            yield name, spans[index][0], spans[last][1]
            after_match = last + 1


def _emails(text: str) -> Iterator[tuple[str, int, int]]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield match.group().lower(), match.start(), match.end()


# (type, extractor, needs a digit): most messages have none, and skipping saves most of the work.
_EXTRACTORS = (
    ("email", _emails, False),
    ("customer_id", _customer_ids, False),
    ("order_id", _order_ids, True),
    ("tracking_number", _tracking_numbers, True),
    ("phone", _phones, True),
    ("date", _dates, True),
    ("date", _relative_dates, False),
    ("amount", _amounts, True),
    ("zip", _zips, True),
    ("product", _products, False),
    ("person_name", _person_names, False),
)


def extract_entities(text: str, *, turn: int) -> list[Entity]:
    """The entities in `text` (the message at index `turn`), in order of position.

    Where two candidates overlap, the type earlier in `_PRIORITY` wins, then the longer span.
    """
    candidates: list[tuple[int, int, int, str, str]] = []
    has_digit = _HAS_DIGIT.search(text) is not None
    for entity_type, extractor, needs_digit in _EXTRACTORS:
        if needs_digit and not has_digit:
            continue
        for value, start, end in extractor(text):
            candidates.append((_PRIORITY[entity_type], start - end, start, entity_type, value))
    candidates.sort()
    taken: list[tuple[int, int]] = []
    entities: list[Entity] = []
    for _priority, negative_length, start, entity_type, value in candidates:
        span = (start, start - negative_length)
        if _overlaps(span, taken):
            continue
        taken.append(span)
        entities.append(
            Entity(type=entity_type, value=value, start=span[0], end=span[1], turn=turn)
        )
    entities.sort(key=lambda entity: (entity.start, entity.end))
    return entities
