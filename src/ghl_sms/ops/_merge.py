"""Merge fields in a single send: filled from the recipient's contact, never sent raw.

A single send's text is a template when it holds a placeholder (ours, ``{first_name}``
or ``{first_name|there}``, or GHL's, ``{{contact.first_name}}``; see
``ghl_sms.ops.bulk.template``); otherwise it is sent exactly as written, stray braces and
all. A template is filled from the recipient's contact once it is looked up:

- a field the contact has no value for, without a fallback, **blocks** the send
  (``merge_fields``): a literal ``{{contact.first_name}}`` must never reach a phone;
- a fallback that was used, or a field ghl-sms does not know, is a warning
  (``merge_fallback``), so the sender sees what the recipient gets;
- a malformed template (``Hi {first_name``) is a usage error before any request.

The idempotency key is derived from the template, not the rendered text: a retry dedupes
before any lookup even if the contact changed in between; the ledger keeps both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ghl_sms.ghl import Contact
from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.templates import (
    GHL_NAMESPACES,
    Field,
    Template,
    TemplateError,
    contact_fields,
    normalize_name,
)
from ghl_sms.rules.preflight import Reason, ReasonCode, Verdict

__all__ = ["Merged", "add_reasons", "merge_contact", "single_send_template"]

# Something meant as a placeholder: a GHL tag, a "{name...}" in single braces, or a
# "{name" never closed. ":}", "{ }", JSON or "{{x}}" on their own are plain text.
_LOOKS_LIKE_FIELD = re.compile(
    r"\{\{\s*(?:" + "|".join(sorted(GHL_NAMESPACES)) + r")\."
    r"|(?<!\{)\{\s*[A-Za-z_][^{}]*(?:\}(?!\})|\{|$)",
    re.IGNORECASE,
)

CONTACT_FIELDS = (
    "first_name", "last_name", "name", "full_name", "email", "phone", "company_name",
    "city", "state", "country", "postal_code", "address1", "timezone",
)  # fmt: skip
"""The contact fields a template may name (custom fields too, by id)."""


def single_send_template(text: str) -> Template | None:
    """The text as a template when it holds a placeholder; None for plain text.

    Raises ``UsageError`` for a malformed template, saying where and how to fix it.
    """
    if not _LOOKS_LIKE_FIELD.search(text):
        return None
    try:
        template = Template.parse(text)
    except TemplateError as exc:
        raise UsageError(f"The text's merge fields are malformed: {exc}") from None
    return template if template.fields else None


@dataclass(frozen=True)
class Merged:
    """A template filled for one recipient: the text and what to say about it."""

    text: str
    reasons: list[Reason]


def _known(field: Field, contact: Contact | None) -> bool:
    if field.name in CONTACT_FIELDS:
        return True
    ids = {normalize_name(c.id) for c in (contact.custom_fields if contact else [])}
    return field.name.removeprefix("custom.") in ids


def merge_contact(template: Template, contact: Contact | None, phone: str | None) -> Merged:
    """Fill ``template`` from the contact (or, for a number ghl-sms has no contact for
    yet, only its phone)."""
    values = contact_fields(contact) if contact is not None else {}
    if phone and "phone" not in values:
        values["phone"] = phone
    unfilled = template.unfilled(values)
    holes = [f for f in unfilled if f.fallback is None]
    reasons: list[Reason] = []
    if holes:
        listed = ", ".join(f.placeholder for f in holes)
        unknown = [f.placeholder for f in holes if not _known(f, contact)]
        about = (
            f" ({', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a contact "
            f"field; known: {', '.join(CONTACT_FIELDS)})"
            if unknown
            else ""
        )
        reasons.append(
            Reason(
                ReasonCode.MERGE_FIELDS,
                "blocked",
                f"The recipient has no value for {listed}{about}; a placeholder is never sent "
                "as written. Fill it on the contact, give it a fallback such as "
                "{first_name|there}, or write {{ and }} for literal braces.",
                {"fields": [f.name for f in holes]},
            )
        )
        return Merged(template.render(values, placeholder=""), reasons)
    for field in unfilled:
        why = "is not a contact field" if not _known(field, contact) else "has no value here"
        reasons.append(
            Reason(
                ReasonCode.MERGE_FALLBACK,
                "warn",
                f"{field.placeholder} {why}; the fallback {field.fallback!r} is sent instead.",
                {"field": field.name, "fallback": field.fallback},
            )
        )
    return Merged(template.render(values), reasons)


def add_reasons(verdict: Verdict, reasons: list[Reason]) -> Verdict:
    """The verdict with more reasons: blocking ones first, its level recomputed."""
    if not reasons:
        return verdict
    every = [*verdict.reasons, *reasons]
    blocked = [r for r in every if r.level == "blocked"]
    warnings = [r for r in every if r.level == "warn"]
    return replace(
        verdict,
        reasons=tuple(blocked + warnings),
        level="blocked" if blocked else "warn",
    )
