"""What a yes means for a flag rule: a finding to look at (red, "flagged") or the good
outcome (green, "on-policy", "shortlisted"), and the noun the summary counts it by.

Guessed from the rule's words; the user can turn it over (Rule.yes_means). Only the look
and the words change: exports keep true/false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastsheet.kinds.rules import Rule

FINDING, GOOD = "finding", "good"

_FLAG_VERB = re.compile(r"^\s*(?:please\s+)?(?:flag|mark|find|catch|detect|report)\b", re.I)
_POLICY = re.compile(
    r"\b(?:follows?|complies|compliant|consistent with|on-policy|adheres?)\b", re.I
)
_CRITERIA = re.compile(
    r"\b(?:candidate|applicant|years?\b.*\bexperience|\d+\+? years|qualif\w*|meets? the"
    r"|requirements?|preferred|hire)\b",
    re.I,
)
_BAD = re.compile(
    r"\b(?:spam|fraud\w*|scam|toxic|rude|insult\w*|abus\w*|inappropriate|unsupportive|violat\w*"
    r"|risk\w*|suspicious|wrong|error|mismatch\w*|complaint|angry|harmful|unsafe|off-policy"
    r"|sarcastic|nonsensical|refutes?|fake|misleading)\b|n't\b|\bnot\b|\bno\b|\bnever\b",
    re.I,
)
_GOOD_WORDS = re.compile(
    r"\b(?:positive|helpful|correct|valid|good|complete|relevant|polite|supports?|accurate"
    r"|answerable|enough|passes|safe|satisf\w*|resolved)\b",
    re.I,
)
_ADJECTIVE = re.compile(r"\b(?:is|are)\s+(?:an?\s+)?([a-z-]+)\s*[.!?]?\s*$", re.I)


@dataclass(frozen=True)
class Polarity:
    """`good`: a yes is the good outcome (green); `noun`: what the summary counts a yes as."""

    good: bool
    noun: str

    @property
    def name(self) -> str:
        return GOOD if self.good else FINDING


@lru_cache(maxsize=256)  # asked for every painted cell of a flag column
def guess(text: str) -> Polarity:
    """The polarity a rule's words suggest (a finding, counted as "flagged", unless they
    say otherwise)."""
    words = text.strip()
    if _FLAG_VERB.match(words):
        return Polarity(False, "flagged")
    if _POLICY.search(words):
        return Polarity(True, "on-policy" if re.search(r"polic", words, re.I) else "passes")
    if _CRITERIA.search(words) and not _BAD.search(words):
        return Polarity(True, "shortlisted")
    adjective = _ADJECTIVE.search(words)
    noun = adjective.group(1).lower() if adjective else ""
    if _BAD.search(words):
        return Polarity(False, noun or "flagged")
    if _GOOD_WORDS.search(words):
        return Polarity(True, noun or "passes")
    return Polarity(False, "flagged")


def of(rule: Rule) -> Polarity:
    """The rule's polarity: the user's choice where made, else the guess; its noun."""
    guessed = guess(rule.text)
    if rule.yes_means not in (FINDING, GOOD) or (rule.yes_means == GOOD) == guessed.good:
        return guessed
    return Polarity(rule.yes_means == GOOD, "passes" if rule.yes_means == GOOD else "flagged")


def column_name(text: str) -> str:
    """The column name a rule's words give, by their noun ("on-policy" -> "on_policy")."""
    name = re.sub(r"\W+", "_", guess(text).noun.lower()).strip("_")
    return name or "flagged"
