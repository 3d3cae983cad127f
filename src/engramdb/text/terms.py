"""Query text → keyword terms for the full-text index."""

from __future__ import annotations

import re

_WORD = re.compile(r"[\w][\w'’-]*", re.UNICODE)
# Function words carry no topic; dropping them keeps BM25 from rewarding "what did the".
STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're
    you've your yours yourself yourselves also just will shall may might must would ever
    s t d ll re ve m""".split()  # noqa: SIM905 - a word list reads better as text
)


def terms(query: str, *, limit: int = 32) -> list[str]:
    """Distinct lower-cased content words of ``query``, in order.

    >>> terms("What did Caroline research after the support group?")
    ['caroline', 'research', 'support', 'group']
    """
    out: list[str] = []
    seen: set[str] = set()
    for match in _WORD.finditer(query.lower()):
        word = match.group(0).replace("’", "'").strip("'-")
        if word.endswith("'s"):
            word = word[:-2]
        if not word or word in STOPWORDS or word in seen:
            continue
        seen.add(word)
        out.append(word)
        if len(out) >= limit:
            break
    return out
