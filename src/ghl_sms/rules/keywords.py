"""Opt-out, opt-in and HELP keywords in inbound texts.

Two layers, as carriers and the FCC expect (sms-rules §3.2):

1. a hard keyword match: the whole body, after normalising case, spacing, hyphens,
   punctuation and emoji, is one of the keywords: an immediate opt-out (or opt-in, help);
2. phrase detection: a reply a reasonable person reads as "stop texting me"
   ("please remove me", "wrong number"). We treat it as an opt-out too, because
   safety beats convenience: a false positive costs one contact, a false negative
   costs a TCPA claim.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

__all__ = ["KeywordKind", "classify_keyword", "normalize_reply"]


class KeywordKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


OPT_OUT_WORDS = frozenset(
    {
        "stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke",
        "optout", "opt out", "remove", "arret", "td", "no mas", "alto", "parar",
    }
)  # fmt: skip
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
HELP_WORDS = frozenset({"help", "info"})

# Natural-language revocations; matched as whole words inside a longer reply.
_OPT_OUT_PHRASES = (
    r"stop (texting|messaging|sending|contacting)",
    r"remove me",
    r"take me off",
    r"(don t|do not|dont) (text|message|contact)",
    r"unsubscribe me",
    r"opt me out",
    r"wrong number",
    r"leave me alone",
    r"no more (texts|messages)",
    r"^no mas\b",
)
_PHRASE_RE = re.compile(r"\b(?:" + "|".join(_OPT_OUT_PHRASES) + r")\b")


def normalize_reply(body: str) -> str:
    """Case-fold, strip accents, punctuation and emoji, and collapse spaces and hyphens."""
    decomposed = unicodedata.normalize("NFKD", body)
    kept = []
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category == "Mn":  # combining accents: "más" -> "mas"
            continue
        if ch.isalnum():
            kept.append(ch.casefold())
        else:  # punctuation, symbols, emoji, hyphens and whitespace all separate words
            kept.append(" ")
    return " ".join("".join(kept).split())


def classify_keyword(body: str) -> KeywordKind | None:
    """What an inbound text asks for: opt out, opt back in, help, or nothing."""
    text = normalize_reply(body)
    if not text:
        return None
    if text in OPT_OUT_WORDS:
        return KeywordKind.OPT_OUT
    if text in OPT_IN_WORDS:
        return KeywordKind.OPT_IN
    if text in HELP_WORDS:
        return KeywordKind.HELP
    # "STOP!!! STOP" or "stop please": a leading keyword followed by filler still revokes.
    first = text.split(" ", 1)[0]
    if first in {"stop", "stopall", "unsubscribe", "optout", "revoke"}:
        return KeywordKind.OPT_OUT
    if _PHRASE_RE.search(text):
        return KeywordKind.OPT_OUT
    return None
