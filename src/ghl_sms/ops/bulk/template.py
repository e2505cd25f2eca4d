"""Message templates with merge fields: ``Hi {first_name|there}, see you {appointment}``.

``{name}`` takes a field from the recipient's row (CSV columns) or their GHL contact;
``{name|fallback}`` uses the fallback when the field is missing or empty (``{name|}``
means: leave it out). A field with no value and no fallback makes ``render`` raise
``MissingFields``: that recipient is skipped with the reason, never sent a hole.
``{{`` and ``}}`` are literal braces.

Names are matched case-insensitively, with spaces, dashes and camelCase read as
snake_case, so a CSV column ``First Name`` and GHL's ``firstName`` both fill
``{first_name}``. A contact's custom fields are ``{custom.<field id>}`` (or the bare id).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ghl_sms.ghl import Contact

__all__ = [
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
            if ch == "{" and source.startswith("{{", i):
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
            elif part.fallback is None:
                out.append(f"{{{part.name}}}")
            else:
                out.append(f"{{{part.name}|{part.fallback}}}")
        return "".join(out)

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
