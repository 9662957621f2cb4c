"""Frustration markers in one customer message: asking for a person, repeating a question,
shouting, swearing, and threats to cancel, charge back, sue or post a review.

Asking for a person is read from a canonical word stream rather than the raw text: each word
is lower-cased, contractions and chat shorthand are expanded ("wanna" -> "want to") and a
misspelt key word ("agnet", "represntative", "somone") is mapped to the word it is close to.
The patterns then need a request (a verb of talking, transferring or wanting, or a question
like "is there a real person") next to a word for a person, so that a mere mention ("your agent
told me", "as a human being") does not fire.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from difflib import SequenceMatcher
from functools import lru_cache

from escalation.signals.base import Hit, fold, hits_from, merge_overlaps, spans, wordset

# --- the canonical word stream -------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.!?;]+|\n")

# Expansions and shorthand. Values may be several words.
_CANON: dict[str, str] = {
    "i'd": "i would",
    "i'm": "i am",
    "im": "i am",
    "i've": "i have",
    "ive": "i have",
    "i'll": "i will",
    "can't": "cannot",
    "cant": "cannot",
    "don't": "do not",
    "dont": "do not",
    "doesn't": "does not",
    "doesnt": "does not",
    "didn't": "did not",
    "didnt": "did not",
    "won't": "will not",
    "wont": "will not",
    "wouldn't": "would not",
    "needn't": "need not",
    "there's": "there is",
    "theres": "there is",
    "let's": "let us",
    "wanna": "want to",
    "wana": "want to",
    "gimme": "give me",
    "lemme": "let me",
    "gotta": "got to",
    "u": "you",
    "ya": "you",
    "ur": "your",
    "yr": "your",
    "r": "are",
    "2": "to",
    "w": "with",
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "pleas": "please",
    "pleae": "please",
    "pleasee": "please",
    "plis": "please",
    "sb": "someone",
    "smb": "someone",
    "some1": "someone",
    "sm1": "someone",
    "any1": "anyone",
    "ppl": "people",
    "agents": "agent",
    "humans": "human",
    "persons": "person",
    "representatives": "representative",
    "reps": "rep",
    "representive": "representative",
    "operators": "operator",
    "supervisors": "supervisor",
    "managers": "manager",
    "employees": "employee",
    "associates": "associate",
    "advisors": "advisor",
    "advisers": "advisor",
    "adviser": "advisor",
    "specialists": "specialist",
    "attendants": "attendant",
    "consultants": "consultant",
    "technicians": "technician",
    "customers": "customer",
    "costumer": "customer",
    "costumers": "customer",
    "services": "service",
    "speaks": "speak",
    "talks": "talk",
    "chats": "chat",
    "sombody": "somebody",
    "somone": "someone",
    "someon": "someone",
    "sumone": "someone",
    "some-one": "someone",
    "anyonr": "anyone",
    "tlk": "talk",
}

# Key words a misspelling is mapped back to (see _closest).
_FUZZY_VOCAB = (
    "human",
    "person",
    "agent",
    "representative",
    "operator",
    "supervisor",
    "manager",
    "someone",
    "somebody",
    "anyone",
    "anybody",
    "speak",
    "transfer",
    "connect",
    "contact",
    "customer",
    "service",
    "support",
    "talk",
    "chat",
    "real",
    "live",
    "assistant",
    "talking",
    "speaking",
    "chatting",
    "contacting",
)
# Real words a key word's misspelling could be mistaken for; they stay as they are.
_NOT_MISSPELT = wordset(
    "managed manages manage humane sneak steak spear speck peak agency agenda gent persona "
    "supervise supervised supervision contract contacts services servicer operate connects "
    "transfers talks chats speaks tall walk chart cheat seal rel lives love life like costume "
    "custom anyway someday assistance assistants walking stalking checking chatter chatted "
    "talked talker speaker contacted contacts liver lived taking baking making waking"
)


def _within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of a and b is at most 1."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) <= 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    # b is one longer than a: b with one letter removed must equal a.
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _within_two_edits(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 2:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > 2:
            return False
        prev = cur
    return prev[-1] <= 2


_DOUBLED = re.compile(r"(.)\1")


@lru_cache(maxsize=8192)
def _closest(token: str) -> str:
    """The canonical form of one lower-cased word."""
    if token in _CANON:
        return _CANON[token]
    if len(token) < 4 or token in _NOT_MISSPELT or not token.isalpha():
        return token
    for word in _FUZZY_VOCAB:
        if token == word:
            return token
    undoubled = _DOUBLED.sub(r"\1", token)
    for word in _FUZZY_VOCAB:
        if token[0] != word[0] and token[:2] != word[1::-1]:
            continue
        if undoubled == word:
            return word
        if word == "assistant" and not token.endswith("t"):
            # "assistance" is the commoner word; its misspellings must not become a person.
            continue
        if len(word) == 4 or len(token) == 4:
            # Short words: only a swapped pair ("tlak"), or a long word missing one letter.
            if len(token) == len(word) == 4 and sorted(token) == sorted(word):
                if _within_one_edit(token, word):
                    return word
            elif len(token) == 4 and len(word) == 5 and _within_one_edit(token, word):
                return word
            continue
        if _within_one_edit(token, word):
            return word
        if len(word) >= 9 and len(token) >= 8 and _within_two_edits(token, word):
            return word
    return token


class _Stream:
    """Canonical words of a text, joined by spaces, with a map back to the original offsets.
    Sentence punctuation becomes "|" so that patterns do not run across sentences."""

    __slots__ = ("ends", "starts", "stream_starts", "text", "words")

    def __init__(self, folded: str) -> None:
        parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.stream_starts: list[int] = []
        self.words: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(folded):
            raw = m.group()
            canon = "|" if not raw[0].isalnum() else _closest(raw)
            for word in canon.split(" "):
                parts.append(word)
                self.words.append(word)
                self.starts.append(m.start())
                self.ends.append(m.end())
                self.stream_starts.append(pos)
                pos += len(word) + 1
        self.text = " ".join(parts)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original character span of the words covering stream[start:end]."""
        first = bisect_right(self.stream_starts, start) - 1
        last = bisect_left(self.stream_starts, end) - 1
        return self.starts[first], self.ends[last]

    def word_index(self, stream_pos: int) -> int:
        return bisect_right(self.stream_starts, stream_pos) - 1


def _alt(words: str) -> str:
    return "(?:" + "|".join(sorted(words.split("|"), key=len, reverse=True)) + ")"


_PERSON = _alt(
    "human|human being|person|agent|representative|rep|operator|supervisor|manager|employee|"
    "staff|staff member|associate|advisor|specialist|attendant|boss|consultant|technician|"
    "assistant|human assistant|live assistant|real assistant|"
    "team member|member of staff|member of your staff|member of your team|superior|"
    "real people|live people|actual people|human people|real one|live one|someone real|"
    "somebody real|someone human|somebody human|someone alive|somebody alive|"
    "someone in charge|somebody in charge|person in charge"
)
_SOMEONE = _alt("someone|somebody|anyone|anybody")
_TEAM = (
    r"(?:customer )?(?:service|support|care|helpdesk|help desk|call center|call centre|"
    r"customer service|customer support|customer care)(?: team| department| dept| desk| line)?"
)
_DET_ADJ = _alt(
    "a|an|the|some|any|one|your|another|other|actual|real|live|living|human|physical|proper|"
    "breathing|flesh|and|blood|genuine|senior|higher|level|up|customer|service|support|care|"
    "sales|billing|technical|tech|competent|qualified|knowledgeable|different|more|"
    "experienced|english|speaking|native|of|from|on|in|team|member|members|actually|"
    "available|responsible|who|that|can|help|directly|immediately|please|now|right|away|"
    "fucking|fuckin|freaking|frickin|bloody|damn|goddamn|stupid|effing|na|real-life"
)
_FILL = rf"(?:{_DET_ADJ} ){{0,5}}"
_TALK = (
    # "-ing" forms ask ("I need help talking to an agent") unless they report ("I was
    # talking to an agent"); after an article the word is a noun ("I had a chat with ...").
    r"(?<!\bwas )(?<!\bwere )(?<!\bbeen )(?<!\bam )(?<!\bis )(?<!\bare )(?<!\bwhile )"
    r"(?<!\bafter )(?<!\bwhen )(?<!\bsince )(?<!\ba )(?<!\bthe )(?<!\bour )(?<!\bmy )"
    + _alt(
        "talk|speak|chat|converse|communicate|discuss|deal|talking|speaking|chatting|"
        "communicating|conversing|discussing|dealing"
    )
)
_TRANSFER = _alt(
    "transfer|connect|put|pass|patch|forward|redirect|route|escalate|hand|send|switch|refer|"
    "direct|get"
)
_TRANSFER_OBJ = _alt(
    "me|us|my call|my chat|this|it|my case|my issue|this chat|this conversation|the call|"
    "my complaint|my request|this issue|this case|the chat|the conversation|the case|"
    "my ticket|this ticket|my problem|this problem|the issue|the matter|this matter"
)
_WANT = _alt(
    "want|wanted|need|needed|would like|request|require|demand|prefer|ask for|asked for|"
    "asking for|requesting|looking for|insist on|expect|want to have|need to have"
)
_REACH = _alt(
    "see|get|have|reach|contact|call|email|message|find|get in touch with|get ahold of|"
    "get hold of|get through to|be put through to|be transferred to|be connected to|"
    "be connected with|be put in touch with|be in touch with|communicate with"
)
_CONTACT = _alt(
    "contact|reach|call|get in touch with|get ahold of|get hold of|"
    "get through to|reach out to|get connected with|get connected to|touch base with|"
    "contacting|reaching|calling|getting in touch with|getting through to|"
    "reaching out to|getting hold of|getting ahold of"
)

_HUMAN_REQUEST = re.compile(
    "|".join(
        [
            # talk / speak / chat with a person (or with the service team)
            rf"\b{_TALK} (?:(?:again|right|now|please|directly|just|only) )?(?:[a-z0-9]{{1,4}} )?"
            rf"{_FILL}(?:{_PERSON}|{_SOMEONE}|{_TEAM})\b",
            # transfer / connect / escalate me to a person
            rf"\b{_TRANSFER} (?:{_TRANSFER_OBJ} )?(?:(?:over|through|back|directly|straight|"
            rf"right|now|please|up|on) )?(?:to|with) (?:me |us )?{_FILL}(?:{_PERSON}|{_SOMEONE}|"
            rf"{_TEAM})\b",
            # "transfer me", "put me through", "escalate this"
            r"\b(?:transfer|connect) me\b(?= please| now| asap| right| immediately| already|"
            r" \||$)",
            r"\bput me through\b|\bpass me on\b|\bhand me over\b",
            r"\bescalate (?:this|it|my (?:case|issue|complaint|ticket|problem|request|query)|"
            r"the (?:issue|matter|case|complaint|ticket|problem))\b",
            r"\b(?:please|can you|could you|would you|will you|need you to|want you to|"
            r"would like to|need to|want to) escalate\b",
            # put me in touch with a person, have a word with a manager, get a human on the line
            rf"\b(?:put|get) (?:me|us) in touch with {_FILL}(?:{_PERSON}|{_SOMEONE}|{_TEAM})\b",
            rf"\bhave a (?:word|chat|talk|conversation) with {_FILL}(?:{_PERSON}|{_SOMEONE})\b",
            rf"\b(?:get|put|have) {_FILL}(?:{_PERSON}|{_SOMEONE}) on the (?:line|phone|chat)\b",
            # (can I) be transferred / get escalated to a person
            r"\b(?:be|get|getting|being) (?:escalated|transferred|connected|put through|passed|"
            rf"handed over|forwarded|redirected|routed|sent) (?:to|with) {_FILL}(?:{_PERSON}|"
            rf"{_SOMEONE}|{_TEAM})\b",
            # get me a person
            rf"\b(?:get|give|find|bring|fetch|grab|send) (?:me|us) {_FILL}(?:{_PERSON}|"
            rf"{_SOMEONE})\b",
            # I want / need a person, I would like to reach a person
            rf"\b{_WANT} (?:to (?:(?:please|just|directly|actually) )?{_REACH} )?{_FILL}"
            rf"{_PERSON}\b(?! ')",
            # can I have / get a person
            rf"\b(?:can|could|may|might|will|let|would) (?:i|we|me|you) (?:please )?"
            rf"(?:have|get|see|request|reach|contact|call|be put through to|"
            rf"be transferred to|be connected to|be connected with) {_FILL}(?:{_PERSON}|"
            rf"{_SOMEONE})\b(?! ')",
            # how can I contact a person (but "the contact person" is a noun)
            rf"\b{_CONTACT} (?:(?:{_DET_ADJ} ){{1,5}}|(?!person\b)){_PERSON}\b(?! ')",
            rf"\b{_CONTACT} {_FILL}{_SOMEONE}\b",
            # is there a real person / anyone there
            rf"\b(?:is|are) there {_FILL}(?:{_PERSON}|someone|somebody|anyone|anybody)\b",
            r"\b(?:is|are) (?:there )?(?:anyone|anybody|someone|somebody|a human|a person|"
            r"a real person|any humans?|a live person|a live agent|an agent|any agent) "
            r"(?:there|here|available|around|online|listening|reading|awake|working|home)\b",
            # have someone call me
            rf"\b(?:{_PERSON}|someone|somebody|anyone|anybody) (?:to )?(?:please )?"
            r"(?:call|contact|phone|ring|email|text|reach out to|get back to|"
            r"get in touch with|respond to|answer) (?:me|us)\b",
            # no more bots
            r"\b(?:not|no more|instead of|rather than|than|stop|hate|tired of|sick of|"
            r"fed up with|done with|enough of|without) (?:(?:talking|speaking|chatting|dealing|"
            r"a|an|the|this|that|with|to|your|stupid|useless|dumb|automated) ){0,4}"
            r"(?:bot|robot|chatbot|chat bot|virtual assistant|automated (?:system|assistant|"
            r"responses?|replies|reply|answers?|chat)|ai|canned (?:responses?|answers?))s?\b"
            r"(?! (?:expert|engineer|problem|issue|company|generated|model|tool|feature|thing|"
            r"question|app)s?\b)",
        ]
    )
)
# A whole sentence that is just a call for a person: "Agent!", "human please", "REPRESENTATIVE".
_CALL_FILLER = wordset(
    "please now asap a an real live actual human right away immediately just yes hi hello hey "
    "ok okay urgently already need want i me get talk speak to with"
)
_CALL_NOUNS = wordset("human agent representative rep operator supervisor manager person someone")
# "I do not want to talk to a person" declines; "I do not know how to talk to a person" asks.
_NEGATED = re.compile(
    r"(?:\b(?:not|never|no)(?: \w+)? (?:want|wanted|need|needed|wish|like|care|ask|asked|"
    r"require|intend|plan|mean|have)\b(?: \w+){0,2}|\b(?:without|no need|rather not|"
    r"not necessary|unnecessary|instead of)(?: \w+)?) $"
)


# Every request above names a person, a team or a bot, or asks to be transferred or escalated;
# a message with none of these words is skipped before its word stream is built.
_KEYWORDS = wordset(
    "human person people agent representative rep operator supervisor manager employee staff "
    "associate advisor specialist attendant boss consultant technician member superior "
    "someone somebody anyone anybody assistant real live service support care helpdesk desk "
    "center centre transfer connect escalate put pass hand bot robot chatbot machine computer "
    "ai script automated canned virtual"
)


def _requests_human(folded: str, original: str) -> list[Hit]:
    if _KEYWORDS.isdisjoint([_closest(token) for token in _TOKEN.findall(folded)]):
        return []
    stream = _Stream(folded)
    hits = []
    for match_start, match_end in spans(_HUMAN_REQUEST, stream.text):
        first = stream.word_index(match_start)
        before = stream.words[max(0, first - 6) : first]
        if "|" in before:
            before = before[len(before) - before[::-1].index("|") :]
        if (
            before
            and _NEGATED.search(" ".join(before) + " ")
            and not stream.text[match_start:match_end].startswith(
                ("not ", "no ", "without ", "instead ", "rather ", "than ", "stop ")
            )
        ):
            continue
        start, end = stream.span(match_start, match_end)
        hits.append(Hit("customer_requested_human", start, end, original[start:end]))
    # Sentences that are only a call for a person.
    sentence: list[int] = []
    for i, word in enumerate([*stream.words, "|"]):
        if word != "|":
            sentence.append(i)
            continue
        words = [stream.words[j] for j in sentence]
        if (
            0 < len(words) <= 6
            and any(w in _CALL_NOUNS for w in words)
            and all(w in _CALL_FILLER or w in _CALL_NOUNS for w in words)
        ):
            start, end = stream.starts[sentence[0]], stream.ends[sentence[-1]]
            hits.append(Hit("customer_requested_human", start, end, original[start:end]))
        sentence = []
    return hits


# --- repeated question -------------------------------------------------------------------

_REPEAT_PHRASES = re.compile(
    r"\b(?:i(?:'ve| have| had)?|we(?:'ve| have)?) (?:already |just |previously |clearly )+"
    r"(?:told|said|explained|asked|mentioned|given|provided|sent|answered|stated|replied)\b"
    r"|\b(?:as|like) i(?:'ve| have)? (?:already |just |previously )?(?:said|mentioned|explained|"
    r"stated|told you|asked|wrote)(?: (?:before|already|earlier|previously|twice))?\b"
    r"|\bfor the (?:second|third|fourth|fifth|sixth|tenth|nth|umpteenth|hundredth|millionth|"
    r"\d+(?:st|nd|rd|th)|(?:\w+ )?last) time\b"
    r"|\bhow many (?:more )?times (?:do|must|should|have|will|did|am) (?:i|we)\b"
    r"|\bi(?:'m| am) (?:asking|telling|saying|explaining|repeating|writing|messaging)"
    r" (?:you )?(?:this |it |that )?(?:again|once more|one more time)\b"
    r"|(?<!thanks )(?<!thank you )\bonce again\b(?! (?:thanks|thank you|for)\b)"
    r"|\b(?:yet again|again and again|over and over(?: again)?|time and again|"
    r"time after time)\b"
    r"|\b(?:asked|told|explained|said|mentioned|tweeted|messaged|emailed|called|written)"
    r" (?:you |this |it |that )?(?:(?:\w+ )?(?:twice|several times|multiple times|many times|"
    r"so many times|a dozen times|\d+ times|three times|four times|five times))\b"
    r"|\brepeat(?:ing)? myself\b"
    r"|\b(?:keep|kept) (?:asking|telling|saying|repeating|explaining)\b"
    r"|\b(?:same|this) question (?:again|over and over|(?:\w+ )?times)\b"
    r"|\bi (?:said|asked|told you)(?: this| that| it)? (?:before|already|earlier|twice)\b"
    r"|\b(?:read|reread|re-read) (?:my|what i) (?:previous |last |earlier )?"
    r"(?:message|messages|tweet|tweets|email|post|wrote|said)\b"
)
_WORD = re.compile(r"[a-z0-9]+")
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
# Below this many words a repeat ("thanks", "yes please", "hello?") says nothing.
REPEAT_MIN_WORDS = 5
# Word-level similarity (difflib's ratio) at which a message counts as a repeat. Restating a
# question usually keeps most of its words in order ("where is my refund for order 123" ->
# "where is my refund for order 123???" or "I still have not got my refund for order 123");
# 0.8 tolerates a word or two added or changed per five, while two different questions that
# share a template ("where is my order" / "where is my refund") score under it once they are
# five words or more.
REPEAT_SIMILARITY = 0.8
# An earlier message of this many words quoted wholly inside the new one also counts.
REPEAT_CONTAINED = 0.9


def _words(text: str) -> list[str]:
    return _WORD.findall(_NOT_WORDS.sub(" ", fold(text)))


def repeat_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How nearly word list `a` repeats word list `b`: the larger of difflib's ratio and the
    share of the shorter one found, in order, inside the longer one."""
    if not a or not b:
        return 0.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    shorter = min(len(a), len(b))
    matched = sum(block.size for block in matcher.get_matching_blocks())
    ratio = 2.0 * matched / (len(a) + len(b))
    contained = matched / shorter if shorter >= REPEAT_MIN_WORDS + 1 else 0.0
    return max(ratio, contained if contained >= REPEAT_CONTAINED else 0.0)


def _repeats(text: str, earlier: Sequence[str]) -> Hit | None:
    words = _words(text)
    if len(words) < REPEAT_MIN_WORDS:
        return None
    best = 0.0
    for previous in earlier:
        other = _words(previous)
        if len(other) < REPEAT_MIN_WORDS:
            continue
        best = max(best, repeat_similarity(words, other))
        if best >= 0.999:
            break
    if best < REPEAT_SIMILARITY:
        return None
    stripped = text.strip()
    start = text.index(stripped) if stripped else 0
    return Hit("repeated_question", start, start + len(stripped), stripped, round(best, 3))


# --- shouting, swearing and threats --------------------------------------------------------

# Three or more all-caps words in a row (a one-letter "I" or "A" may sit between them).
_SEP = r"[,.!?:;\-\"]*\s+[,.!?:;\-\"]*"
_CAPS_RUN = re.compile(
    rf"(?<![\w.@/])[A-Z][A-Z']*[A-Z]\b(?:{_SEP}(?:[AI]{_SEP})?[A-Z][A-Z']*[A-Z]\b(?![.@/]\w)){{2,}}"
)
# Names and product titles are also written in capitals; shouting has the little words too.
_FUNCTION_WORDS = wordset(
    "IS ARE AM WAS WERE BE BEEN NOT NO YOU YOUR MY ME WE US OUR THE AND OR BUT TO OF IN ON AT "
    "FOR WITH THIS THAT IT IT'S IM I'M DO DOES DID DON'T CAN'T WON'T WHY WHAT WHERE WHEN HOW "
    "WHO STILL EVER NEVER ANY ALL SO VERY HAVE HAS HAD WILL JUST NOW GET GOT"
)
_ACRONYMS = wordset(
    "USB UPS USPS PDF SKU DHL FEDEX TNT GPS SIM SMS MMS PIN ATM FAQ URL USA UK EU NYC LA TV HD "
    "UHD LED LCD DVD CD PC MAC IOS OS APP API ID IDS ETA ASAP FYI BTW IMO OK VIP CEO CS AM PM "
    "EST PST GMT UTC CST MST BST CET HR IT QR RMA PO VAT GST HST TAX NFC RAM SSD HDD CPU GPU "
    "WIFI LTE DSL ISP SSN DOB ZIP USD EUR GBP CAD AUD PDT EDT AT&T ATT DM DMS RT LOL OMG WTF"
)

_PROFANITY_STRONG = re.compile(
    r"(?<![a-z])(?:(?:mother|mutha)?f+u+c+k+\w*|f[\*#@\$%!]+(?:c?k|[\*#@\$%!])\w*|f[\*#@\$%!]ck\w*"
    r"|fck\w*|fuk\w*|fuq\w*|phuck\w*|effing|sh[i1!]t+(?:ty|head|s|hole)?|s[\*#@\$%!]{2}t|"
    r"sh[\*#@\$%!]t|bull ?sh[i1!*]t|horse ?shit|bitch\w*|b[\*#@\$%!]tch\w*|bastards?|"
    r"ass ?holes?|a[\*#@\$%!]{2}holes?|arse ?holes?|dick ?heads?|jackass\w*|dumbass\w*|"
    r"wankers?|twats?|bollocks|douche\w*|cunts?|c[\*#@\$%!]nt|piss(?:ed|ing)?(?: off)?|"
    r"goddamn\w*|god damn\w*|damn(?:ed|it)?|wtf|stfu|ffs|omfg|scumbags?|"
    r"what the (?:hell|heck|fudge|frick)|crap(?:py)?)(?![a-z])",
)
# Mild words count half.
_MILD = ("damn", "crap", "what the", "piss")

_THREATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "threat_cancel",
        re.compile(
            r"\b(?:(?:i(?:'ll| will| am going to|'m going to| am gonna|'m gonna| want to| wanna|"
            r" would like to|'d like to| need to)|going to|gonna|about to|will|just|ready to|"
            r"thinking (?:of|about)|seriously considering|considering) )"
            r"(?:cancel(?:l?ing)?|terminat(?:e|ing)|clos(?:e|ing)|end(?:ing)?|quit(?:ting)?|"
            r"drop(?:ping)?|leav(?:e|ing)) "
            r"(?:my |our |this |the |your |out of |from )*(?:account|subscription|membership|"
            r"service|services|plan|contract|line|policy|prime|business|broadband|"
            r"package|company|provider|carrier|network|you|you guys)\b"
            r"|\bcancel(?:l?ing)? (?:my |our |the )?(?:subscription|membership|contract|plan|"
            r"service|broadband|policy|prime)\b(?! (?:fee|fees|policy|charge|charges|terms))"
            r"|\b(?:take|taking|took) (?:my|our) (?:business|money|custom) (?:elsewhere|somewhere"
            r" else|to (?:a |your |another )?(?:competitor|competition|someone else))\b"
            r"|\b(?:switch(?:ing)?|mov(?:e|ing)|go(?:ing)?|port(?:ing)?) (?:over )?to (?:a |one of"
            r" )?(?:your )?(?:competitor|competitors|competition|another (?:provider|company|"
            r"carrier|bank|store|shop|airline|network|service))\b"
            r"|\b(?:never|not|won't|will not) (?:be )?(?:ever )?(?:buy(?:ing)?|order(?:ing)?|"
            r"shop(?:ping)?|fly(?:ing)?|us(?:e|ing)|book(?:ing)?|com(?:e|ing) back|"
            r"purchas(?:e|ing)|stay(?:ing)?|deal(?:ing)?) (?:(?:from|with|at|to) )?"
            r"(?:you|your \w+|this (?:company|store|shop|airline|brand)|here)(?: \w+)? again\b"
            r"|\b(?:lost|losing|lose) (?:a |another |one )?(?:loyal |long[- ]time |valued |"
            r"good )?(?:customer|client)\b"
            r"|\b(?:i(?:'m| am)|we(?:'re| are)) (?:so |totally |completely )?(?:done|finished)"
            r" with (?:you|your|this company|this store)\b"
            r"|\b(?:never again will i|won't be (?:a|your) customer|no longer (?:be )?(?:a|your)"
            r" customer)\b"
        ),
    ),
    (
        "threat_chargeback",
        re.compile(
            r"\bcharge[ -]?backs?\b"
            r"|\b(?:dispute|disputing|disputed|contest|contesting|reverse|reversing) (?:the |this |"
            r"that |these |my |a |your )?(?:charges?|transactions?|payments?|debits?|bill|"
            r"billing|purchase)\b"
            r"|\bfil(?:e|ing) (?:a )?(?:dispute|claim|chargeback) (?:with|through|on|via) (?:my |"
            r"the )?(?:bank|card|credit card|paypal|visa|mastercard|amex|issuer)\b"
            r"|\b(?:call|calling|contact|contacting|phone|ring|tell|report (?:this|you) to|get)"
            r" (?:my |our |the )?(?:bank|credit card company|card company|card issuer|"
            r"card provider|visa|mastercard|amex|american express|paypal)\b"
            r"(?! (?:details|account number|app|statement|info|information|sort code))"
            r"|\bpaypal (?:dispute|claim|case)\b"
        ),
    ),
    (
        "threat_legal",
        re.compile(
            r"\b(?:sue|suing|sued)(?: (?:you|your|the|this|them|u|for))\b"
            r"|\b(?:i(?:'ll| will| am going to|'m going to|'m gonna| am gonna| could| can| may|"
            r" might| should)|going to|gonna|will) sue\b"
            r"|\b(?:lawsuit|law suit|class action|legal action|legal proceedings|litigation|"
            r"small claims|take (?:you|this|it|them|your company) to court|see you in court|"
            r"court case|my (?:lawyer|lawyers|attorney|solicitor|legal team|legal counsel)|"
            r"a (?:lawyer|attorney|solicitor)|an attorney|"
            r"(?:contact|call|get|hire|talk to|speak to|speak with|consult) (?:a |my )?"
            r"(?:lawyer|attorney|solicitor)|"
            r"better business bureau|bbb|cfpb|trading standards|ombudsman|attorney general|"
            r"consumer (?:protection|affairs|rights|council|ombudsman|commission|agency|"
            r"tribunal|watchdog)|"
            r"(?:report|complain|escalate|write|go|take (?:this|it))(?: \w+)? to (?:the )?"
            r"(?:authorities|police|government|regulators?|watchdog|ftc|fcc|ofcom|ofgem|"
            r"consumer council|commission|ministry|miit))\b"
        ),
    ),
    (
        "threat_review",
        re.compile(
            r"\b(?:one|1|zero|0|no|a single|single)[- ]stars?\b"
            r"|\b(?:bad|negative|terrible|awful|horrible|scathing|honest|poor|angry|low) "
            r"(?:review|reviews|rating|ratings|feedback online)\b"
            r"|\b(?:post|posting|share|sharing|put|putting|write|writing|tweet|tweeting|blast|"
            r"blasting|spread|spreading|plaster|plastering)(?: (?:this|it|about (?:this|it|you|"
            r"your \w+)|my experience|everything|the whole thing|a review|reviews|pictures|photos"
            r"|videos?|screenshots?))? (?:on|all over|across|to) (?:\w+ )?(?:social media|"
            r"twitter|facebook|instagram|tiktok|reddit|youtube|linkedin|the internet|internet|"
            r"online|yelp|trustpilot|google|my (?:blog|channel|page|followers))\b"
            r"|\btell (?:every ?one|every ?body|all my (?:friends|family|followers|contacts)|"
            r"my (?:friends|followers|family)|the world|people)(?: i know)?(?: about| how| what|"
            r" never| not| to avoid| to stay away)\b"
            r"|\b(?:trustpilot|yelp|tripadvisor|sitejabber|pissed consumer|ripoff report)\b"
            r"|\b(?:go|going|make this|make it) viral\b"
            r"|\bwarn (?:others|everyone|everybody|people|other customers|my friends)\b"
            r"|\b(?:expose|exposing|name and shame|shame) (?:you|your company|this company)\b"
            r"|\b(?:contact|call|tell|tip off|go to) (?:the )?(?:media|press|news|newspaper|"
            r"journalists?|reporters?|tv station)\b"
        ),
    ),
)


def frustration_hits(text: str, *, earlier_customer_texts: Sequence[str] = ()) -> list[Hit]:
    """Frustration markers in one customer message, each with its evidence span.

    `earlier_customer_texts` are the customer's earlier messages in the conversation; a message
    that nearly repeats one of them is a `repeated_question`."""
    if not text or not text.strip():
        return []
    folded = fold(text)
    hits = _requests_human(folded, text)

    hits += hits_from(_REPEAT_PHRASES, folded, text, "repeated_question", weight=0.8)
    if earlier_customer_texts:
        repeat = _repeats(text, earlier_customer_texts)
        if repeat is not None:
            hits.append(repeat)

    for m in _CAPS_RUN.finditer(text):
        words = re.findall(r"[A-Z][A-Z']*[A-Z]|\b[AI]\b", m.group())
        shouted = [w for w in words if w not in _ACRONYMS]
        if sum(len(w) >= 3 for w in shouted) >= 2 and (
            len(words) >= 4 or any(w in _FUNCTION_WORDS for w in words)
        ):
            hits.append(Hit("all_caps", m.start(), m.end(), m.group()))

    for m in _PROFANITY_STRONG.finditer(folded):
        weight = 0.5 if m.group().startswith(_MILD) else 1.0
        hits.append(Hit("profanity", m.start(), m.end(), text[m.start() : m.end()], weight))

    for kind, pattern in _THREATS:
        hits += hits_from(pattern, folded, text, kind)
    return merge_overlaps(hits, text)
