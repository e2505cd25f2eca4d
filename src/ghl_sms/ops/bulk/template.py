"""Merge-field templates, for campaigns: see ``ghl_sms.ops.templates``.

The templates live one level up since single sends fill them too; this module keeps the
names bulk code and callers import from here.
"""

from __future__ import annotations

from ghl_sms.ops.templates import (
    GHL_NAMESPACES,
    Field,
    MissingFields,
    Template,
    TemplateError,
    contact_fields,
    merge_fields,
    normalize_name,
)

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
