"""Message templates with merge fields: ``Hi {first_name|there}, see you {appointment}``.

``{name}`` takes a field from the recipient's row (CSV columns) or their GHL contact;
``{name|fallback}`` uses the fallback when the field is missing or empty (``{name|}``
means: leave it out). A field with no value and no fallback makes ``render`` raise
``MissingFields``: that recipient is skipped with the reason, never sent a hole.
``{{`` and ``}}`` are literal braces.

Names are matched case-insensitively, with spaces, dashes and camelCase read as
snake_case, so a CSV column ``First Name`` and GHL's ``firstName`` both fill
``{first_name}``. A contact's custom fields are ``{custom.<field id>}`` (or the bare id).

GHL's own merge tags are accepted too, since users paste GHL templates (GHL's send API
does not fill them: they would reach the phone as written):
``{{contact.first_name}}``, ``{{ contact.first_name }}``, ``{{contact.name}}``,
``{{contact.phone}}``, ``{{contact.email}}``..., with a Liquid-style fallback
``{{contact.first_name | default: "there"}}`` (or ``{{contact.first_name|there}}``).
``contact.<field>`` fills like ``{<field>}`` (a custom field by its key or id); other GHL
namespaces (``location.``, ``user.``, ``custom_values.``...) are fields named
``location.name`` and so on, filled only by a row's column of that name. A double brace
that is not such a tag (``{{code}}``) is still a literal brace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ghl_sms.ghl import Contact

__all__ = [
    "GHL_NAMESPACES",
    "Field",
    "MissingFields",
    "Template",
    "TemplateError",
    "contact_fields",
    "merge_fields",
    "normalize_name",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\- ]*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

GHL_NAMESPACES = frozenset(
    {"contact", "location", "user", "custom_values", "appointment", "calendar", "message"}
)
"""The first part of a GHL merge tag (``{{contact.first_name}}``) that makes a double
brace a field rather than a literal brace."""
_GHL_TAG = re.compile(
    r"\{\{\s*(?P<namespace>[A-Za-z_]+)\.(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*"
    r"(?:\|(?P<fallback>[^{}]*?))?\s*\}\}"
)
_LIQUID_DEFAULT = re.compile(r"""\s*default\s*:\s*(?P<q>["']?)(?P<value>.*?)(?P=q)\s*""")


class TemplateError(ValueError):
    """The template itself is malformed (an unclosed brace, an empty name)."""


class MissingFields(LookupError):
    """Fields the template needs have no value for this recipient and no fallback."""

    def __init__(self, names: tuple[str, ...]) -> None:
        listed = ", ".join(names)
        super().__init__(
            f"No value for {listed} and no fallback in the template; add the field to the "
            f"recipient or a fallback such as {{{names[0]}|there}}."
        )
        self.names = names


def normalize_name(name: str) -> str:
    """``First Name``, ``first-name`` and ``firstName`` all become ``first_name``."""
    snake = _CAMEL.sub("_", name.strip())
    return re.sub(r"[\s\-]+", "_", snake).lower()


@dataclass(frozen=True)
class Field:
    name: str
    fallback: str | None
    written: str | None = None
    """The placeholder as the template wrote it, when it was a GHL tag."""

    @property
    def placeholder(self) -> str:
        """How it reads in the template: ``{{contact.first_name}}``, ``{first_name}``."""
        if self.written is not None:
            return self.written
        return f"{{{self.name}}}" if self.fallback is None else f"{{{self.name}|{self.fallback}}}"


def _ghl_fallback(raw: str | None) -> str | None:
    if raw is None:
        return None
    liquid = _LIQUID_DEFAULT.fullmatch(raw)
    return liquid.group("value") if liquid else raw.strip()


def _ghl_tag(source: str, at: int) -> tuple[Field, int] | None:
    """The GHL merge tag starting at ``at``, and where it ends; None if there is none."""
    match = _GHL_TAG.match(source, at)
    if match is None or match.group("namespace").lower() not in GHL_NAMESPACES:
        return None
    namespace = match.group("namespace").lower()
    name = normalize_name(match.group("name"))
    if namespace != "contact":
        name = f"{namespace}.{name}"
    return Field(name, _ghl_fallback(match.group("fallback")), match.group(0)), match.end()


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Field, ...]

    @classmethod
    def parse(cls, source: str) -> Template:
        parts: list[str | Field] = []
        literal: list[str] = []
        i = 0
        while i < len(source):
            ch = source[i]
            tag = _ghl_tag(source, i) if source.startswith("{{", i) else None
            if tag is not None:
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(tag[0])
                i = tag[1]
            elif ch == "{" and source.startswith("{{", i):
                literal.append("{")
                i += 2
            elif ch == "}" and source.startswith("}}", i):
                literal.append("}")
                i += 2
            elif ch == "{":
                end = source.find("}", i)
                if end < 0:
                    raise TemplateError(
                        f"Unclosed '{{' at character {i + 1}; write {{{{ for a brace."
                    )
                body = source[i + 1 : end]
                name, bar, fallback = body.partition("|")
                if not _NAME.fullmatch(name.strip()):
                    raise TemplateError(
                        f"{{{body}}} at character {i + 1} is not a field; fields look like "
                        "{first_name} or {first_name|there}."
                    )
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(Field(normalize_name(name), fallback if bar else None))
                i = end + 1
            elif ch == "}":
                raise TemplateError(f"Stray '}}' at character {i + 1}; write }}}} for a brace.")
            else:
                literal.append(ch)
                i += 1
        if literal:
            parts.append("".join(literal))
        return cls(source, tuple(parts))

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(p for p in self.parts if isinstance(p, Field))

    def render(self, values: Mapping[str, str], *, placeholder: str | None = None) -> str:
        """The text for one recipient; ``values`` maps normalised names to values.

        With ``placeholder``, a missing field without fallback renders as it instead of
        raising (estimates only).
        """
        out: list[str] = []
        missing: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = values.get(part.name)
            if value is None or value == "":
                value = values.get(f"custom.{part.name}") or None
            if value is None:
                if part.fallback is not None:
                    value = part.fallback
                elif placeholder is not None:
                    value = placeholder
                else:
                    missing.append(part.name)
                    continue
            out.append(value)
        if missing:
            raise MissingFields(tuple(dict.fromkeys(missing)))
        return "".join(out)

    def display(self, values: Mapping[str, str]) -> str:
        """The text with the fields ``values`` has filled in, the others as written:
        ``Hi {first_name|there}``, for previews of what GHL's contact will fill."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part.replace("{", "{{").replace("}", "}}"))
                continue
            value = values.get(part.name) or values.get(f"custom.{part.name}")
            if value:
                out.append(value.replace("{", "{{").replace("}", "}}"))
            else:
                out.append(part.placeholder)
        return "".join(out)

    def unfilled(self, values: Mapping[str, str]) -> tuple[Field, ...]:
        """The fields ``values`` has no value for (with or without a fallback)."""
        return tuple(
            part
            for part in self.fields
            if not (values.get(part.name) or values.get(f"custom.{part.name}"))
        )

    def missing(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """Fields without value or fallback (what ``render`` would complain about)."""
        try:
            self.render(values)
        except MissingFields as exc:
            return exc.names
        return ()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value).strip()
    return text or None


def contact_fields(contact: Contact) -> dict[str, str]:
    """A GHL contact's values under the names templates use."""
    values: dict[str, str | None] = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.display_name,
        "full_name": " ".join(p for p in (contact.first_name, contact.last_name) if p) or None,
        "email": contact.email,
        "phone": contact.phone,
        "company_name": contact.company_name,
        "city": contact.city,
        "state": contact.state,
        "country": contact.country,
        "postal_code": contact.postal_code,
        "address1": contact.address1,
        "timezone": contact.timezone,
    }
    for custom in contact.custom_fields:
        values[f"custom.{normalize_name(custom.id)}"] = _text(custom.value)
    return {k: v for k, v in values.items() if v}


def merge_fields(row: Mapping[str, str], contact: Contact | None) -> dict[str, str]:
    """The row's own values (CSV columns) win over the contact's; empty ones don't count."""
    merged = contact_fields(contact) if contact is not None else {}
    merged.update({k: v for k, v in row.items() if v})
    return merged
