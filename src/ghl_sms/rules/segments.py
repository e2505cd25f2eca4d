"""SMS encoding and segment counting (sms-rules §1).

The count follows Twilio's segment calculator, which GHL points its users to:

1. split the text into grapheme clusters (``\\X``), with ``"\\r\\n"`` split into two;
2. the message is GSM-7 only if every cluster is one UTF-16 unit found in the GSM 03.38
   basic or extension table, otherwise the *whole* message is UCS-2;
3. parts are filled by simulation, never by dividing: a part holds 160 septets or 70
   UTF-16 units alone, 153 or 67 once the message is split (the User Data Header takes
   the rest), and an item (an escape pair, a surrogate pair, a grapheme) is never cut
   across parts, so a part may carry less than its capacity.

We count the exact string that will be submitted; nothing is substituted silently.
``gsm_suggestion`` is the explicit, opt-in replacement of look-alike characters.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import regex

__all__ = [
    "GSM7",
    "GSM_BASIC",
    "GSM_EXTENSION",
    "MULTI_PART_CAPACITY",
    "SINGLE_PART_CAPACITY",
    "UCS2",
    "Encoding",
    "GsmSuggestion",
    "NonGsmCharacter",
    "Replacement",
    "SegmentReport",
    "Unit",
    "count_segments",
    "gsm_replacement",
    "gsm_suggestion",
    "is_gsm7",
    "utf16_length",
]

Encoding = Literal["GSM-7", "UCS-2"]
Unit = Literal["septets", "utf16_units"]

GSM7: Encoding = "GSM-7"
UCS2: Encoding = "UCS-2"

# GSM 03.38 default alphabet, 127 characters (0x1B is the escape code).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: two septets each (ESC + code).
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_PART_CAPACITY: dict[Encoding, int] = {GSM7: 160, UCS2: 70}
MULTI_PART_CAPACITY: dict[Encoding, int] = {GSM7: 153, UCS2: 67}
_BITS_PER_UNIT: dict[Encoding, int] = {GSM7: 7, UCS2: 16}
_UDH_BITS = 48


@functools.cache
def _grapheme() -> regex.Pattern[str]:
    """Compiled on first use: the MCP server's tools/list names the limits, not the text."""
    import regex

    return regex.compile(r"\X")


# Look-alike substitutions offered (never applied silently) by gsm_suggestion.
# Letters such as "ç" or "á" are deliberately absent: names are content, not typos.
_REPLACEMENTS: dict[str, str] = {
    **dict.fromkeys("‘’‛′´`ˊˋʹʼ", "'"),
    "‚": ",",
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−•", "-"),
    "…": "...",
    "‹": "<",
    "›": ">",
    "½": "1/2",
    "¼": "1/4",
    "¾": "3/4",
    "\t": " ",
    "\u2028": "\n",
    "\u2029": "\n",
    **dict.fromkeys(
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000",
        " ",
    ),
    # Invisible characters: dropped.
    **dict.fromkeys("\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad", ""),
}


def _full_width(ch: str) -> str | None:
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        plain = chr(code - 0xFEE0)
        return plain if plain in GSM_BASIC or plain in GSM_EXTENSION else None
    return None


def gsm_replacement(char: str) -> str | None:
    """A GSM-7 stand-in for ``char`` (a character or a grapheme), or None.

    ``’`` -> ``'``, ``—`` -> ``-``, NBSP -> space, a zero-width space -> ``""``.
    """
    out = []
    for ch in char:
        if ch in GSM_BASIC or ch in GSM_EXTENSION:
            out.append(ch)
            continue
        replacement = _REPLACEMENTS.get(ch)
        if replacement is None:
            replacement = _full_width(ch)
        if replacement is None:
            return None
        out.append(replacement)
    return "".join(out)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of UCS-2 parts (and of JavaScript's length)."""
    # Counted by hand rather than encoded: a lone surrogate (from a mis-decoded argv)
    # still counts as one unit instead of raising.
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _septets(item: str) -> int:
    return 2 if item in GSM_EXTENSION else 1


def _is_gsm_item(item: str) -> bool:
    return len(item) == 1 and (item in GSM_BASIC or item in GSM_EXTENSION)


def _items(text: str) -> list[str]:
    """Grapheme clusters, with CRLF split into CR and LF (as the calculator does)."""
    items: list[str] = []
    for cluster in _grapheme().findall(text):
        if cluster == "\r\n":
            items.extend(("\r", "\n"))
        else:
            items.append(cluster)
    return items


def is_gsm7(text: str) -> bool:
    """Whether ``text`` can be sent as GSM-7 (every character in the GSM 03.38 tables)."""
    return all(_is_gsm_item(item) for item in _items(text))


def _pack(sizes: list[int], single: int, multi: int) -> list[int]:
    """Units per part. Items are atomic; a message that fits one part is one part."""
    total = sum(sizes)
    if total == 0:
        return []
    if total <= single:
        return [total]
    parts = [0]
    for size in sizes:
        if parts[-1] + size > multi:
            parts.append(0)
        parts[-1] += size
    return parts


@dataclass(frozen=True)
class NonGsmCharacter:
    """A character (grapheme) that forces UCS-2."""

    char: str
    code_points: tuple[str, ...]
    """``("U+2019",)``; several for a flag, a ZWJ sequence or a combining sequence."""
    count: int
    first_index: int
    """Offset of its first occurrence in the text, in code points (Python indices)."""
    replacement: str | None
    """A GSM-7 look-alike to type instead, when there is one (``’`` -> ``'``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "char": self.char,
            "code_points": list(self.code_points),
            "count": self.count,
            "first_index": self.first_index,
            "replacement": self.replacement,
        }


@dataclass(frozen=True)
class SegmentReport:
    """How a text will be encoded and split, in the unit its encoding counts."""

    encoding: Encoding
    segments: int
    """Number of parts (0 for the empty text)."""
    unit: Unit
    """What ``units`` counts: septets for GSM-7 (an extension character is 2), UTF-16
    code units for UCS-2 (an emoji is 2, a flag 4)."""
    units: int
    per_segment: tuple[int, ...]
    """Units carried by each part; can be below capacity when an item did not fit."""
    capacity: int
    """Units one part holds here: 160/70 for a single part, 153/67 once split."""
    remaining_in_last: int
    """Units still free in the last part before another part is needed."""
    graphemes: int
    """User-perceived characters (CRLF counts as two, as in Twilio's calculator)."""
    code_points: int
    utf16_units: int
    septets: int | None
    """GSM-7 size; None when the text is not GSM-7."""
    non_gsm_characters: tuple[NonGsmCharacter, ...]

    @property
    def is_multipart(self) -> bool:
        return self.segments > 1

    @property
    def payload_bits(self) -> int:
        """Bits of text, without the User Data Headers."""
        return self.units * _BITS_PER_UNIT[self.encoding]

    @property
    def total_bits(self) -> int:
        """Bits including the 48-bit User Data Header of every part of a split message."""
        return self.payload_bits + (_UDH_BITS * self.segments if self.is_multipart else 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "segments": self.segments,
            "unit": self.unit,
            "units": self.units,
            "per_segment": list(self.per_segment),
            "capacity": self.capacity,
            "remaining_in_last": self.remaining_in_last,
            "graphemes": self.graphemes,
            "code_points": self.code_points,
            "utf16_units": self.utf16_units,
            "septets": self.septets,
            "non_gsm_characters": [c.to_dict() for c in self.non_gsm_characters],
        }


def count_segments(text: str) -> SegmentReport:
    """Encoding and parts of ``text`` exactly as written (sms-rules §1.3-1.4).

    >>> count_segments("Hi ’there’").encoding
    'UCS-2'
    """
    items = _items(text)
    non_gsm = [(i, item) for i, item in enumerate(items) if not _is_gsm_item(item)]
    utf16_units = utf16_length(text)
    septets = None if non_gsm else sum(_septets(item) for item in items)
    encoding: Encoding = UCS2 if non_gsm else GSM7
    single, multi = SINGLE_PART_CAPACITY[encoding], MULTI_PART_CAPACITY[encoding]

    sizes = [_septets(i) for i in items] if encoding == GSM7 else [utf16_length(i) for i in items]
    if sum(sizes) > single and max(sizes, default=0) > multi:
        # A grapheme too big for any part of a split message (a long run of combining
        # marks) has to be cut somewhere; cut it between code points, never inside a
        # surrogate pair.
        sizes = [
            piece
            for item, size in zip(items, sizes, strict=True)
            for piece in ([size] if size <= multi else [utf16_length(ch) for ch in item])
        ]
    per_segment = _pack(sizes, single, multi)
    capacity = multi if len(per_segment) > 1 else single

    return SegmentReport(
        encoding=encoding,
        segments=len(per_segment),
        unit="septets" if encoding == GSM7 else "utf16_units",
        units=sum(sizes),
        per_segment=tuple(per_segment),
        capacity=capacity,
        remaining_in_last=capacity - (per_segment[-1] if per_segment else 0),
        graphemes=len(items),
        code_points=len(text),
        utf16_units=utf16_units,
        septets=septets,
        non_gsm_characters=_describe_non_gsm(text, items, non_gsm),
    )


def _describe_non_gsm(
    text: str, items: list[str], non_gsm: list[tuple[int, str]]
) -> tuple[NonGsmCharacter, ...]:
    if not non_gsm:
        return ()
    counts = Counter(item for _, item in non_gsm)
    # Offsets in code points: the items are a partition of the text, in order.
    offsets: dict[str, int] = {}
    position = 0
    for item in items:
        if item in counts and item not in offsets:
            offsets[item] = position
        position += len(item)
    return tuple(
        NonGsmCharacter(
            char=item,
            code_points=tuple(f"U+{ord(ch):04X}" for ch in item),
            count=counts[item],
            first_index=offsets[item],
            replacement=gsm_replacement(item),
        )
        for item in counts  # Counter keeps first-seen order
    )


@dataclass(frozen=True)
class Replacement:
    original: str
    replacement: str
    count: int


@dataclass(frozen=True)
class GsmSuggestion:
    """What replacing look-alike characters would do. Applying it is the caller's choice."""

    text: str
    """The text with every replaceable character replaced."""
    replacements: tuple[Replacement, ...]
    unreplaceable: tuple[str, ...]
    """Characters with no GSM-7 stand-in (emoji, accented letters...)."""
    becomes_gsm: bool
    """True when every character forcing UCS-2 has a stand-in, so the result is GSM-7."""
    segments_before: int
    segments_after: int

    @property
    def segments_saved(self) -> int:
        """Parts saved by replacing; 0 unless the whole message becomes GSM-7, and
        negative when the replacements cost more ("…" becomes three characters)."""
        return self.segments_before - self.segments_after if self.becomes_gsm else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "becomes_gsm": self.becomes_gsm,
            "segments_before": self.segments_before,
            "segments_after": self.segments_after,
            "segments_saved": self.segments_saved,
            "replacements": [
                {"original": r.original, "replacement": r.replacement, "count": r.count}
                for r in self.replacements
            ],
            "unreplaceable": list(self.unreplaceable),
        }


def gsm_suggestion(text: str, report: SegmentReport | None = None) -> GsmSuggestion:
    """Whether replacing the characters that force UCS-2 would make ``text`` GSM-7.

    Substitution is worth it only when *all* of them can be replaced (sms-rules §1.6):
    one emoji left keeps the whole message UCS-2.
    """
    before = report if report is not None else count_segments(text)
    if before.encoding == GSM7:
        return GsmSuggestion(text, (), (), True, before.segments, before.segments)
    mapping = {
        c.char: c.replacement for c in before.non_gsm_characters if c.replacement is not None
    }
    new_text = "".join(mapping.get(item, item) for item in _items(text))
    after = count_segments(new_text)
    return GsmSuggestion(
        text=new_text,
        replacements=tuple(
            Replacement(c.char, c.replacement, c.count)
            for c in before.non_gsm_characters
            if c.replacement is not None
        ),
        unreplaceable=tuple(c.char for c in before.non_gsm_characters if c.replacement is None),
        becomes_gsm=after.encoding == GSM7,
        segments_before=before.segments,
        segments_after=after.segments,
    )
