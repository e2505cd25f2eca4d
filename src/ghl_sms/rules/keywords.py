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
    r"(stop|quit|cease|end) (texting|txting|messaging|sending|contacting|the (texts|messages))",
    r"remove me",
    r"take me off",
    r"(don t|do not|dont) (text|txt|message|contact)",
    r"unsubscribe",
    r"opt( me)? out",
    r"optout",
    r"stopall",
    r"revoke",
    r"cancel (my )?(subscription|texts|messages|sms)",
    r"wrong number",
    r"leave me alone",
    r"no more (texts|messages)",
    r"^no mas\b",
)
_PHRASE_RE = re.compile(r"\b(?:" + "|".join(_OPT_OUT_PHRASES) + r")\b")

# Politeness around a keyword doesn't change it: "please stop", "help pls", "STOP NOW!!".
_FILLER = frozenset(
    {"please", "pls", "plz", "kindly", "just", "now", "asap", "thanks", "thank", "you",
     "thx", "ty", "ok", "okay"}
)  # fmt: skip

# Words before a final "stop" that make it a noun ("the bus stop"), not a request.
_STOP_AS_NOUN = frozenset(
    {"the", "a", "bus", "next", "last", "first", "full", "pit", "truck", "rest", "one",
     "that", "this", "your", "my", "our", "each", "every"}
)  # fmt: skip


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
    words = "".join(kept).split()
    if len(words) > 1 and all(len(word) == 1 for word in words):
        words = ["".join(words)]  # "S.T.O.P." and "s t o p" are spelled-out keywords
    return " ".join(words)


def classify_keyword(body: str) -> KeywordKind | None:
    """What an inbound text asks for: opt out, opt back in, help, or nothing.

    Opting back in needs the bare keyword (START, UNSTOP, YES); opting out doesn't,
    because a missed revocation costs far more than a wrongly honoured one.
    """
    text = normalize_reply(body)
    if not text:
        return None
    if text in OPT_OUT_WORDS:
        return KeywordKind.OPT_OUT
    if text in OPT_IN_WORDS:
        return KeywordKind.OPT_IN
    if text in HELP_WORDS:
        return KeywordKind.HELP
    words = text.split(" ")
    core = " ".join(word for word in words if word not in _FILLER)
    if core in OPT_OUT_WORDS:
        return KeywordKind.OPT_OUT
    # "STOP!!! STOP", "stop please", "you can stop now": a keyword that opens or closes
    # the reply still revokes. "Stop by the office" is an invitation, not a revocation.
    first, tail = words[0], core.rsplit(" ", 2)[-2:]
    if first in {"stop", "stopall", "unsubscribe", "optout", "revoke"} and words[1:2] != ["by"]:
        return KeywordKind.OPT_OUT
    # "please stop", "make it stop" revoke; "at the bus stop" doesn't.
    if tail[-1] == "stop" and (len(tail) == 1 or tail[0] not in _STOP_AS_NOUN):
        return KeywordKind.OPT_OUT
    if _PHRASE_RE.search(text):
        return KeywordKind.OPT_OUT
    if core in HELP_WORDS:
        return KeywordKind.HELP
    return None
