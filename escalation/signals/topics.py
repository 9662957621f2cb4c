"""Sensitive topics in one customer message: bereavement, legal, injury and safety, fraud,
accessibility and privacy. Each goes to a specialist team, so the patterns favour precision:
an everyday word that is only sometimes sensitive ("my phone died", "I don't recall", "my
account was disabled", "sick of waiting") needs the context that makes it so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from escalation.signals.base import Hit, fold, hits_from, merge_overlaps

TOPIC_KINDS = ("injury_safety", "fraud", "bereavement", "legal", "privacy", "accessibility")

_KIN = (
    r"(?:husband|wife|spouse|partner|mother|mom|mum|mommy|mummy|mama|father|dad|daddy|papa|"
    r"son|daughter|child|baby|kid|brother|sister|sibling|grandmother|grandma|granny|nan|nana|"
    r"grandfather|grandpa|grandad|granddad|grandparent|aunt|auntie|uncle|cousin|niece|nephew|"
    r"fiance|fiancee|boyfriend|girlfriend|friend|parent|parents|family member|relative|"
    r"father-in-law|mother-in-law|stepfather|stepmother|stepdad|stepmom|loved one)"
)

_PATTERNS: dict[str, tuple[tuple[str, float], ...]] = {
    "bereavement": (
        (
            r"\b(?:passed away|"
            r"bereave\w*|condolences?|funeral|memorial service|obituary|deceased|"
            r"death certificate|death in (?:the|my|our) family|widow(?:ed|er)?|"
            r"estate of (?:my|the) (?:late|deceased)|executor of|executrix|probate|"
            r"in loving memory|rest in peace|lost my (?:dear |beloved |darling |little )?"
            + _KIN
            + r")\b",
            1.0,
        ),
        (r"\b(?:my|our|his|her) (?:late|dear late) " + _KIN + r"\b", 1.0),
        (
            r"\b(?:my|our|his|her) (?:dear |beloved |darling )?"
            + _KIN
            + r" (?:has |had |just |recently |sadly |suddenly |unexpectedly )*(?:died|passed|"
            r"passed on|"
            r"was killed|is dead|has died|had died|lost (?:his|her|their) (?:life|battle))\b",
            1.0,
        ),
        (
            r"\b(?:death of (?:my|our|his|her) " + _KIN + r"|(?:is|was) dying|terminal(?:ly)? ill|"
            r"terminal (?:illness|cancer)|hospice)\b",
            1.0,
        ),
    ),
    "legal": (
        (
            r"\b(?:lawyers?|attorneys?|solicitors?|legal (?:action|advice|counsel|team|"
            r"department|proceedings|notice|matter|case|claim|rights|obligation)|lawsuits?|"
            r"law suit|litigation|litigate|sue (?:you|your|them|the|this|for|over)|suing|sued|"
            r"subpoena\w*|court (?:order|case|date|"
            r"hearing)|in court|to court|small claims|class action|cease and desist|"
            r"breach of contract|police report|filed a (?:police )?report with the police|"
            r"consumer rights act|warrant|affidavit|tribunal|ombudsman|legally (?:obliged|"
            r"required|binding|entitled)|against the law|illegal(?:ly)?|unlawful(?:ly)?|"
            r"violat(?:e|es|ed|ing|ion of) (?:the |my )?(?:law|rights|consumer|regulations?|"
            r"gdpr|ccpa|ada|fdcpa|tcpa))\b",
            1.0,
        ),
    ),
    "injury_safety": (
        (
            r"\b(?:injur(?:y|ies|ed|ing)|hurt (?:myself|himself|herself|themselves|my|me|him|her|"
            r"us|them|the)|(?:got|get|was|were|been|getting) hurt|burn(?:ed|t|s)? (?:my|me|him|her|"
            r"us|them|the house|the kitchen|down)|(?:i|he|she|we|they|you|my \w+) (?:got|was|were|"
            r"have been|has been) (?:badly |severely )?(?:burned|burnt)|(?:severe|bad|serious|"
            r"nasty) burns?|burn (?:mark|marks|injury|injuries|wound)|scald(?:ed|s)?|"
            r"caught (?:on )?fire|on fire|set (?:on )?fire|fire hazard|started a fire|"
            r"burst into flames|flames?|smok(?:ing|ed|e) (?:came|coming|pouring|billowing)|"
            r"start(?:ed|s)? smoking|explo(?:ded|sion|de|des|ding)|blew up|"
            r"electric(?:al)? shocks?|electrocut\w*|(?:got|get|getting) (?:a |an )?"
            r"(?:electric )?shock (?:from|off)|allergic reaction|anaphyla\w*|epipen|"
            r"(?:hospital|hospitalised|hospitalized|emergency room|a ?& ?e|urgent care|"
            r"ambulance|paramedics?|needed stitches|got stitches)|choking|choked|chok(?:e|ing) hazard|"
            r"(?:product )?recall(?:ed)? (?:notice|list)|safety recall|(?:been|was|were|is|being|"
            r"are) recalled|product recall|unsafe|dangerous|hazard(?:ous)?|safety (?:issue|"
            r"concern|risk|hazard|problem)|cut (?:myself|himself|herself|my (?:hand|finger|"
            r"thumb|arm|leg|foot|face|lip|mouth))|bleed(?:ing)?|blood(?:y)? (?:everywhere|all over)"
            r"|food poisoning|poison(?:ed|ing|ous)?|made (?:me|him|her|us|my \w+) (?:sick|ill|"
            r"vomit|throw up)|(?:got|became|fell) (?:sick|ill) (?:after|from)|"
            r"toxic (?:fumes|smell|chemicals?|substances?|gas)|"
            r"carbon monoxide|gas leak|broke (?:my|his|her) (?:arm|leg|wrist|ankle|tooth|nose|"
            r"finger|toe|hip|back)|concussion|sharp edge|"
            r"(?:fell|falling) (?:on|onto) (?:me|my|him|her)|"
            r"swallow(?:ed|ing)? (?:a|an|the|one|some|part|parts|piece|pieces|it)|"
            r"(?:glass|metal|plastic|a needle|a nail|mou?ld|maggots?|insects?|bugs?|worms?|"
            r"a hair|hair|a bone|a stone) in (?:the|my|our|his|her) (?:food|drink|meal|"
            r"sandwich|salad|pizza|burger|soup|bottle|can|box|packet|order|coffee|cereal|"
            r"baby food|formula)|mou?ldy|melted (?:the|my|our|a hole|through)|"
            r"brakes? (?:failed|stopped working)|(?:collapsed|gave way) (?:on|under|with) "
            r"(?:me|him|her|us|my))\b",
            1.0,
        ),
    ),
    "fraud": (
        (
            r"\b(?:unauthori[sz]ed|unrecogni[sz]ed|fraud\w*|scam(?:med|mer|mers|s)?|"
            r"identity theft|stolen (?:card|credit card|debit card|identity|account|details|"
            r"information|info|password|phone)|(?:card|account|identity|details|password|"
            r"wallet|phone) (?:was|has been|were|got|have been|is) (?:stolen|hacked|compromised|"
            r"cloned|skimmed)|hack(?:ed|er|ers|ing)|compromised|phishing|"
            r"(?:someone|somebody|some one|a stranger|a hacker|strangers|someone else) (?:else )?"
            r"(?:has |have |had |must have |may have |might have |is |was |keeps )?(?:used|using|"
            r"accessed|accessing|logged in(?:to)?|logging in(?:to)?|log(?:ged)? on to|"
            r"got into|broke into|hacked|took over|taken over|changed|opened|stole|stolen|"
            r"charged|(?:ordered|bought|purchased|made (?:\w+ )?(?:orders?|purchases?|payments?|"
            r"transactions?)|spent money) (?:on|from|with|using|through)) (?:my|our|me)|"
            r"(?:did not|didn't|didnt|never) authori[sz]e|"
            r"(?:did not|didn't|didnt|never) (?:make|order|place|buy|purchase|approve|request|"
            r"sign up for|agree to) (?:this|these|that|those|the|any)(?: \w+)? (?:charges?|"
            r"transactions?|payments?|purchases?|orders?|subscriptions?|debits?)|"
            r"(?:do not|don't|dont|did not|didn't) recogni[sz]e (?:this|these|the|a|an|that|"
            r"those)(?: \w+)? (?:charges?|transactions?|payments?|orders?|purchases?|debits?)|"
            r"not me who|wasn't me|was not me|"
            r"(?:charges?|transactions?|payments?|debits?|purchases?|orders?|something|things|"
            r"items|stuff)\b[^.!?\n]{0,40}?\b(?:i|we) (?:do not|don't|dont|did not|didn't|"
            r"didnt|never) (?:recogni[sz]e|authori[sz]e|make|made|buy|bought|order|ordered|"
            r"place|placed))\b",
            1.0,
        ),
    ),
    "accessibility": (
        (
            r"\b(?:screen ?readers?|voiceover|nvda|talkback|braille|"
            r"(?:i am|i'm|im|he is|she is|he's|she's|my \w+ is|we are|being) (?:legally |partially "
            r"|completely |totally |profoundly )?(?:blind|deaf|disabled|visually impaired|"
            r"hard of hearing|hearing impaired|dyslexic|paralys?ed|in a wheelchair|"
            r"wheelchair[- ]bound|a wheelchair user|an amputee|autistic)|"
            r"visually impaired|vision impair\w*|low vision|sight impair\w*|partially sighted|"
            r"colou?r[- ]?blind\w*|hard of hearing|hearing impair\w*|hearing aids?|"
            r"sign language|asl interpreter|wheelchairs?|mobility (?:issues?|problems?|aid|"
            r"scooter|impair\w*)|disabilit(?:y|ies)|handicap\w*|disabled (?:person|people|"
            r"customer|customers|user|users|veteran|access|parking|badge|son|daughter|child|"
            r"husband|wife|mother|father)|accessib(?:le|ility) (?:for|to) (?:the )?"
            r"(?:blind|deaf|disabled|people with)|accessibility|ada compliant|"
            r"(?:americans with disabilities act)|dyslexi\w*|(?:can't|cannot|can not|unable to|"
            r"hard to|struggle to|difficult to) (?:read|see) (?:the )?(?:small|tiny|fine|little)"
            r" (?:print|text|font|letters|writing)|(?:text|font|print|writing) (?:is )?(?:too|so) "
            r"(?:small|tiny)|large print|closed captions?|captioning|no captions|cognitive (?:impairment|"
            r"disability)|learning disabilit\w*)\b",
            1.0,
        ),
    ),
    "privacy": (
        (
            r"\b(?:gdpr|ccpa|cpra|pipeda|lgpd|data protection|right to be forgotten|"
            r"right to erasure|data subject (?:access )?request|dsar|subject access request|"
            r"data (?:breach|leak)|breach of (?:my )?(?:privacy|data)|privacy|"
            r"(?:delete|erase|remove|wipe|purge|destroy) (?:all )?(?:of )?(?:my|our) (?:\w+ )?"
            r"(?:data|personal (?:data|information|info|details)|information|info)|"
            r"(?:sell|sold|selling|leak|leaked|leaking|expose|exposed|misuse|misused|"
            r"misusing) (?:my|our) (?:\w+ )?(?:data|information|info|details|email address|"
            r"phone number|address)|(?:share|shared|sharing|give|gave|giving|pass|passed|"
            r"passing) (?:my|our) (?:\w+ )?(?:data|information|info|details|email address|"
            r"phone number|address) (?:to|with) (?:third|other|another|advertis\w*|marketers|"
            r"companies|partners)|personal (?:data|information|info|details) (?:was |were |"
            r"has been |have been |got |is being |are being )?(?:leaked|exposed|shared|sold|"
            r"stolen|breached|compromised|misused)|what (?:personal )?(?:data|information|info)"
            r" (?:do |does )?(?:you|your company|you guys) (?:have|hold|store|keep|collect|"
            r"retain)|how (?:do|does)"
            r" (?:you|your company) (?:use|store|protect|handle|process) (?:my|our|personal) "
            r"(?:\w+ )?(?:data|information|info)|(?:copy|download|export) (?:of )?(?:all )?"
            r"(?:my|the) (?:personal )?data|opt(?:ed)? out of (?:data|tracking|the sale|sale|"
            r"sharing)|do not sell|tracking cookies|stop tracking)\b",
            1.0,
        ),
    ),
}

_COMPILED: dict[str, tuple[tuple[re.Pattern[str], float], ...]] = {
    kind: tuple((re.compile(pattern), weight) for pattern, weight in patterns)
    for kind, patterns in _PATTERNS.items()
}


def topic_hits(text: str) -> list[Hit]:
    """Sensitive topics in one customer message, each with its evidence span."""
    if not text or not text.strip():
        return []
    folded = fold(text)
    hits: list[Hit] = []
    for kind, patterns in _COMPILED.items():
        for pattern, weight in patterns:
            hits += hits_from(pattern, folded, text, kind, weight=weight)
    return merge_overlaps(hits, text)


def topic_of(text_or_hits: str | Sequence[Hit]) -> str | None:
    """The dominant sensitive topic of a text (or of hits already found): the topic with the
    most evidence by weight. Ties go to the topic listed first in TOPIC_KINDS, which puts
    the most urgent first (someone hurt, then money taken)."""
    hits = topic_hits(text_or_hits) if isinstance(text_or_hits, str) else text_or_hits
    totals: dict[str, float] = defaultdict(float)
    for hit in hits:
        if hit.kind in TOPIC_KINDS:
            totals[hit.kind] += hit.weight
    if not totals:
        return None
    return max(TOPIC_KINDS, key=lambda kind: (totals.get(kind, 0.0), -TOPIC_KINDS.index(kind)))
