"""Putting back what chat leaves out, so the rules only ever see full clauses.

- A subject-less fragment gets its first-person subject: "Just moved to Denver" ->
  "I just moved to Denver", "Not a big fan of cilantro" -> "I am not a big fan of cilantro".
- Clauses joined by "and"/"but"/a comma share the subject of the first one: "I'm 41 and just
  took up surfing" -> ["I am 41", "I just took up surfing"]; "My sister Anna lives in Rome
  and works as a nurse" -> [..., "My sister Anna works as a nurse"].
- "his/her/its name is X" after a pet or relative the speaker has ("We got a puppy. His
  name is Waffles") becomes "my puppy's name is X".

Every pattern here is deliberately narrow: a wrong subject is worse than a missed fact.
"""

from __future__ import annotations

import re

from engramdb.text.lexicon import DIETS, EMPLOYMENT, RELATIONS, SPECIES, STATUSES

# Chat openers that come before a fragment's verb ("lol", "oh and", "update:").
_FILLER = (
    r"(?:(?:so|well|also|oh|and|but|honestly|tbh|btw|lol|haha|yeah|yep|yes|ok|okay|plus"
    r"|update|quick\s+update|anyway|hey|hi|hello|um|uh|ps|fun\s+fact|news|big\s+news)\b"
    r"[\s,:!.-]*)*"
)
_ADVS = (
    r"(?:(?:just|recently|currently|still|now|actually|really|also|finally|already|totally"
    r"|definitely|always|officially|newly|literally|kinda|sort\s+of|kind\s+of|honestly)\s+)*"
)
# Predicates that end where the fragment ends ("Married, two kids", "vegan btw").
_ADJ_END = r"(?=\s*(?:$|[,.!;]|and\b|but\b|for\b|since\b|now\b|btw\b|lol\b|too\b|actually\b))"
_CONDITION_ADJ = (
    r"(?:celiac|coeliac|diabetic|asthmatic|epileptic|dyslexic|autistic|lactose[\s-]intolerant"
    r"|gluten[\s-]intolerant|colou?r[\s-]blind|deaf|pregnant)"
)
_EMPLOYMENT_BARE = EMPLOYMENT.replace("a\\s+stay", "stay")
# Fragments that stand for "I am ...".
_AM = (
    r"(?:not\s+(?:a|an|really|very|much|exactly|too|the|big|huge|into|fond)\b"
    r"|(?:an?\s+)?(?:big|huge|massive|lifelong|die-?hard|long-?time|avid)\s+"
    r"(?:[\w'&.-]+\s+){0,2}?(?:fan|supporter)\b"
    r"|(?:really\s+|so\s+|totally\s+|super\s+|very\s+|severely\s+)?(?:into|obsessed\s+with"
    r"|allergic\s+to|fluent\s+in)\b"
    r"|originally\s+from\b|from\s+(?-i:[A-Z][a-z]+)(?:\s+(?-i:[A-Z][a-z]+))?"
    r"(?=\s*(?:$|[,.!;]|originally\b|but\b|and\b))|based\s+in\b"
    r"|\d{1,2}\s*(?:years?\s+old|yrs?\s+old|y/?o)\b"
    rf"|(?:{STATUSES}|{DIETS}|{_EMPLOYMENT_BARE}|{_CONDITION_ADJ}){_ADJ_END})"
)
# Gerunds that stand for "I am ...-ing" unless they are the sentence's subject
# ("Living in London is expensive").
_AM_ING = (
    r"(?:living|working|moving|relocating|studying|learning|planning|heading|training)\b"
    r"(?!.*\b(?:is|are|was|were|has|have|had|can|could|will|would|should|must|might|makes?"
    r"|seems?|sucks|gets|feels|costs|takes|means|helps)\b)"
)
# Finished verbs that stand for "I ..." at the very start of a message; imperatives people
# type to an assistant ("play", "speak", "enjoy", "tell") are left out.
_VERB = (
    r"(?:moved|relocated|started|got|adopted|rescued|finished|graduated|quit|took\s+up"
    r"|switched|joined|grew\s+up|was\s+born|used\s+to|worked|lived|love|loved|adore|hate"
    r"|hated|can\s+not\s+stand|do\s+not\s+(?:really\s+)?(?:like|care\s+for)"
    r"|never\s+(?:eat|drink|liked)|no\s+longer|have\s+been|work\s+(?:as|at|for)"
    r"|have\s+(?=(?:\d+|a|an|one|two|three|four|five)\s))\b"
)
# After "and"/"but"/"," the subject is known, so plain present verbs are safe too.
_VERB_CONT = (
    rf"(?:{_VERB}|am|have|live\s+(?=in|with|near|out|abroad|alone)|work\s+(?=as|at|for|in|from)|do\s+not\s+(?:eat|drink)|like|enjoy|speak|play|teach|taught|studied|own|do|go"
    r"|went|ran|run|was|married|prefer|practi[cs]e|drink|eat|write|paint|cook|coach|tutor)\b"
)
_HAVE_COUNT = r"(?:\d+|one|two|three|four|five|six)\s+(?:kids?|children|sons|daughters)\b"
_VERB3 = (
    r"(?:lives|works|is|has|loves|likes|hates|enjoys|moved|got|plays|speaks|teaches|studies"
    r"|was|owns|adores|prefers|relocated|started|retired|graduated|grew\s+up)\b"
)
_MOD = r"(?:older|younger|little|big|baby|twin|oldest|youngest|eldest|step|new)"
_NAME = r"(?-i:[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
_THIRD = re.compile(
    rf"^{_FILLER}(?P<s>(?:my|our)\s+(?:{_MOD}[\s-]+)?{RELATIONS}(?:,?\s+{_NAME})?)\s", re.I
)
_FIRST = re.compile(rf"^{_FILLER}(?:I|we)\b", re.I)
_BOUNDARY = re.compile(r"\s*,\s*(?:(?:and|but)\s+)?|\s+(?:and|but)\s+(?:then\s+)?", re.I)
_CLAUSE_SPLIT = re.compile(
    r"\s*(?:;|,?\s+(?:and|but|so|because|although|though|while|whereas|since|plus|and also)"
    r"|,)\s+(?=(?:I|we|my|our|he|she|they|it|you|there)\b)",
    re.IGNORECASE,
)
_FEMALE = re.compile(
    r"\b(?:wife|girlfriend|fianc[ée]e|daughter|mom|mum|mother|mommy|sister|grandma"
    r"|grandmother|granddaughter|aunt|niece|stepmom|stepdaughter|ex-wife)\b",
    re.I,
)
_MALE = re.compile(
    r"\b(?:husband|boyfriend|fianc[ée]|son|dad|father|daddy|brother|grandpa|grandfather"
    r"|grandson|uncle|nephew|stepdad|stepson|ex-husband)\b",
    re.I,
)


def _prefix(text: str, *, start: bool) -> str | None:
    """The subject to put before ``text`` when it is a first-person fragment, else None.

    ``start`` is True at the beginning of a message sentence, where only the safe
    starters count; after a conjunction the wider continuation list applies.
    """
    rest = text[re.match(_FILLER, text, re.I).end() :]  # type: ignore[union-attr]
    if re.match(r"(?:I|we|you|he|she|they|it|my|our|your)\b", rest, re.I):
        return None
    body = rest[re.match(_ADVS, rest, re.I).end() :]  # type: ignore[union-attr]
    if re.match(_AM, body, re.I) or re.match(_AM_ING, body, re.I):
        return "I am "
    if re.match(_VERB if start else _VERB_CONT, body, re.I):
        return "I "
    if not start and re.match(_HAVE_COUNT, body, re.I):
        return "I have "
    return None


def restore_subject(sentence: str) -> str:
    """``sentence`` with "I"/"I am" put in front of a subject-less first-person fragment.

    >>> restore_subject("Just moved to Denver last month")
    'I just moved to Denver last month'
    >>> restore_subject("Moving on, what next?") == "Moving on, what next?"
    True
    """
    if sentence.rstrip().endswith("?"):
        return sentence
    prefix = _prefix(sentence, start=True)
    if prefix is None:
        return sentence
    cut = re.match(_FILLER, sentence, re.I).end()  # type: ignore[union-attr]
    return sentence[:cut] + prefix + _lower(sentence[cut:])


def _lower(text: str) -> str:
    """A fragment starts with a function word, never a name: "Originally from" -> "originally
    from", so name rules ("I am <Name>") cannot take it."""
    return text[:1].lower() + text[1:]


def _compatible(pronoun: str, noun: str) -> bool:
    p = pronoun.lower()
    if p in ("he", "his", "him"):
        return not _FEMALE.search(noun)
    if p in ("she", "her"):
        return not _MALE.search(noun)
    return False


def _continue(piece: str) -> list[str]:
    """Split ``piece`` where "and"/"but"/"," start a new predicate of the same subject."""
    third = _THIRD.match(piece)
    first = _FIRST.match(piece) is not None
    if not first and third is None:
        return [piece]
    for b in _BOUNDARY.finditer(piece):
        after = piece[b.end() :]
        if third is not None and not first:
            rest = after[re.match(_ADVS, after, re.I).end() :]  # type: ignore[union-attr]
            prefix = third.group("s") + " " if re.match(_VERB3, rest, re.I) else None
        else:
            prefix = _prefix(after, start=False)
        if prefix is not None and piece[: b.start()].strip(" ,"):
            # Each step consumes a boundary, so the recursion ends.
            return [piece[: b.start()].strip(" ,"), *_continue(prefix + _lower(after))]
    return [piece]


def split_clauses(sentence: str) -> list[str]:
    """Clauses of one sentence with their subjects restored.

    A conjunction or comma followed by a new subject starts a clause; one followed by a
    further predicate of the same subject starts a clause with that subject put back; "he"
    or "she" after "my <relative>" in the same sentence stands for that relative.
    """
    body = sentence.rstrip(".!?… ").strip()
    out: list[str] = []
    third: str | None = None
    for raw in _CLAUSE_SPLIT.split(body):
        piece = raw.strip(" ,")
        if not piece:
            continue
        pron = re.match(r"(he|she)\s+(?=\w)", piece, re.I)
        if pron and third and _compatible(pron.group(1), third):
            piece = third + " " + piece[pron.end() :]
        m = _THIRD.match(piece)
        third = m.group("s") if m else third
        out += _continue(piece)
    return out


_PRONOUN_NAME = re.compile(
    rf"(?:(?P<p>his|her|its)\s+name\s+is|(?P<p2>he|she|it)\s+is\s+(?:named|called))\s+"
    rf"(?={_NAME}\b)",
    re.I,
)
_OWNED = re.compile(
    rf"(?:\b(?:my|our)\s+(?:\w+\s+)?|\b(?:I|we)\s+(?:\w+\s+){{0,2}}?(?:have|got|adopted"
    rf"|rescued|own|bought|found|getting|brought\s+home)\s+(?:a|an|one|another)\s+"
    rf"(?:[\w-]+\s+){{0,2}}?)"
    rf"(?P<n>{SPECIES}|(?:{_MOD}\s+)?{RELATIONS})\b(?!\s*,?\s*(?:named|called|{_NAME}\b))",
    re.I,
)


def resolve_name_pronouns(text: str) -> str:
    """ "We got a puppy! His name is Waffles." -> "... My puppy's name is Waffles."

    Only a pet or relative the speaker has ("my"/"our", "got a", "adopted a") is a
    referent, the nearest one before the pronoun; "its" only refers to a pet.
    """

    def repl(m: re.Match[str]) -> str:
        pronoun = m.group("p") or m.group("p2")
        owned = list(_OWNED.finditer(text, 0, m.start()))
        if not owned:
            return m.group(0)
        noun = re.sub(r"\s+", " ", owned[-1].group("n"))
        pet = re.fullmatch(SPECIES, noun, re.I) is not None
        if not pet and not _compatible(pronoun, noun):
            return m.group(0)
        lead = "My" if m.group(0)[:1].isupper() else "my"
        return f"{lead} {noun.lower()}'s name is "

    return _PRONOUN_NAME.sub(repl, text)
