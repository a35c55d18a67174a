"""How readers name the listing's fields: word classes, each with its inflections, as regexes.

`query` and `when` build their rules from these classes rather than from phrases, so a
new word joins every rule that uses its class at once: "likes" counts as upvotes in "most
likes", "how many likes" and "more than 3 likes" alike. `LISTING_STEMS` holds the words that
talk about the digest rather than a subject ("entries", "went up", "got"), in stemmed form so
every inflection is covered: a question left with only these words, once its metadata is read,
asks for the catalogue, not for a search.
"""

from __future__ import annotations

import re

import Stemmer

# What a reader calls a paper of the listing.
PAPER_NOUN = (
    r"(papers?|articles?|publications?|works?|studies|study|ones?|entries|entry|items?|"
    r"preprints?|submissions?|listings?|abstracts?|things?|pieces?)"
)


def one_of(words: str) -> str:
    """A regex alternation of the space-separated `words` (each may hold regex syntax)."""
    return "(?:" + "|".join(words.split()) + ")"


# Popularity: the listing's upvote count under any name.
VOTE_UNIT = r"(?:up-?votes?|votes?|likes?|hearts?|stars?|love)\b"
POPULAR = r"(?:up-?voted|voted|liked|loved|popular|rated|well[- ]received|appreciated|hyped)"
# One word that is itself a superlative of popularity: "the hottest paper", "the fan favourite".
POPULAR_SUPERLATIVE = (
    r"(?:hottest|buzziest|trendiest|(?:fan|crowd|community|reader)[- ]favou?rite|"
    r"most (?:buzz|traction|attention|hype|love))"
)
# The ends of a scale: amounts ("the largest number of authors"), then rank words that only
# rank ("the best", "the top"), which alone do not say which end of an amount is meant.
MOST_AMOUNT = r"(?:most|highest|greatest|biggest|largest)"
LEAST_AMOUNT = r"(?:least|lowest|fewest|smallest)"
MOST = rf"(?:{MOST_AMOUNT}|best|top)"
LEAST = rf"(?:{LEAST_AMOUNT}|worst)"
# Team size: who wrote a paper.
PEOPLE = (
    r"(?:co-?authors?|authors?|people|persons?|researchers?|writers?|contributors?|"
    r"scientists?|names)\b"
)
TEAM = (
    r"(?:teams?|groups?|author (?:lists?|teams?|headcounts?)|lists? of authors|bylines?|"
    r"collaborations?|crews?(?: sizes?)?|headcounts?|team sizes?)"
)
# Verbs of appearing in the listing: "posted", "went up", "came out", "was added".
POSTED = (
    r"(?:published|released|dated|written|appeared|appearing|posted|added|uploaded|submitted|"
    r"listed|went up|gone up|goes up|go up|came out|come out|comes out|dropped|put up|"
    r"showed up|shown up|show up|landed|arrived|popped up|hit the (?:list|feed|page))"
)
# Ordinals for "the second most liked", "the runner-up", "the next newest".
ORDINALS = {
    "second": 2,
    "2nd": 2,
    "runner-up": 2,
    "runner up": 2,
    "next": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
}
ORDINAL = r"(?P<nth>" + "|".join(sorted(map(re.escape, ORDINALS), key=len, reverse=True)) + r")"

_STEMMER = Stemmer.Stemmer("english")
# Words about the digest and its listing, not about any subject of the papers in it.
_LISTING_WORDS = """
paper article publication work study entry item preprint submission listing list abstract
thing piece one record digest collection catalogue catalog database site
page feed here there everything anything something all total overall whole entire
appear post add upload submit list publish release date write go went gone come came drop
put show get got receive earn draw attract collect gather pick have has had make made
number count many much how which what who whose whom when where why is are was were be been
the a an of in on at by for from with to and or any some each every only just actually also
me you please tell give show find name list show see let know want like interested
available exist current currently ever still yet so far right now recently today
upvote vote like heart star author people person researcher writer contributor team group
popular year month day date week quarter half span cover range metadata detail info
information most least top best highest lowest fewest second next third last first runner
among apart besides except other actually very instead rather than effort
that this these those it its they them their there then as if but not no nor so such can
could would should will shall may might must do does did done into over under again both
few more same own too while i we us our my your he she his her hers one ones
say sit sitting reach reached pick picked attach attached info stuff feed crowd community
favourite favorite love voter reader sort order put
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec spring summer autumn winter
around near title titled called named word phrase term chronological chronologically
across altogether overall combined sum together
contain include hold comprise feature
batch bunch lot pile selection roundup credit credited
""".split()
# How readers say who they are and why they ask ("As a PM I only care about fresh stuff",
# "for my newsletter"): context around a question, never its subject.
_READER_CONTEXT = """
want need care interested curious wonder wondering looking look search searching mention
newsletter blog post report talk slides thesis class course homework journalist reporter
student phd pm manager engineer researcher editor reader boss team colleague friend
thanks thank pls plz please quick quickly fresh stuff thing things tell know remember
up down out back far goes go going exactly roughly approximately about around just
place position spot rank ranked ranking tie tied ties tying board fan wolf lone pair pairs
vintage antique ancient stale hot hottest buzz traction attention timeline am think believe
guess suppose seem seems maybe perhaps probably behind ahead
latest newest oldest earliest recent fall falls fell older newer earlier later
company org organisation organization lab institution
""".split()
LISTING_STEMS = frozenset(_STEMMER.stemWords(_LISTING_WORDS + _READER_CONTEXT))


def stem(word: str) -> str:
    return _STEMMER.stemWord(word.lower())
