"""What the property harness (tests/harness) shares: the invariants every face keeps.

Each broken invariant raises its own ``Violation`` subclass, so hypothesis reports the
distinct kinds of failure separately instead of stopping at the first one. With
``GHL_SMS_HARNESS_SURVEY=<file>`` set, violations are appended to that file as JSON lines
instead of raised: a survey of every failing case, for matching them to fixes.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from ghl_sms.sandbox._seed import DEFAULT_NUMBER, SEED_CONTACTS, UNREGISTERED_NUMBER

__all__ = [
    "CONTACT_IDS",
    "EXIT_CODES",
    "PHONES",
    "SENDER_NUMBERS",
    "Outbound",
    "Violation",
    "harness_settings",
    "outbound_messages",
    "raw_python_text",
    "violation",
]

CONTACT_IDS: tuple[str, ...] = tuple(c.id for c in SEED_CONTACTS)
PHONES: tuple[str, ...] = tuple(c.phone for c in SEED_CONTACTS if c.phone)
SENDER_NUMBERS = (DEFAULT_NUMBER, UNREGISTERED_NUMBER)

EXIT_CODES = frozenset({0, 1, 2, 3, 130})
"""README: 0 done, 1 GHL or delivery failure, 2 usage, 3 blocked or refused, 130 Ctrl-C."""

# Text that only reaches a user when an error escaped the one error path.
_LEAKS = (
    "Traceback (most recent call last)",
    "this is a ghl-sms bug",
    "errors.pydantic.dev",
    "For further information visit",
    "could not convert string to",
    "invalid literal for int()",
    "codec can't decode",
    "codec can't encode",
    "date value out of range",
    "object has no attribute",
    "NoneType",
    "MalformedFraming",
    "validation error for",
    "input_value=",
)
# Python's and the libraries' exception class names, as str(type(exc).__name__) shows them.
_EXCEPTION_NAMES = re.compile(
    r"\b(?:ValueError|TypeError|KeyError|IndexError|AttributeError|OverflowError|OSError|"
    r"FileNotFoundError|IsADirectoryError|NotADirectoryError|PermissionError|"
    r"UnicodeDecodeError|UnicodeEncodeError|UnicodeError|RuntimeError|AssertionError|"
    r"ZeroDivisionError|RecursionError|StopIteration|JSONDecodeError|DatabaseError|"
    r"OperationalError|IntegrityError|ProgrammingError|ValidationError|ClickException|"
    r"BadParameter|UnexpectedToolError|ExceptionGroup|BaseExceptionGroup|CancelledError|"
    r"ConnectError|ReadTimeout|TimeoutError|InvalidOperation|SandboxInUseError)\b"
)


def raw_python_text(text: str) -> str | None:
    """The first piece of raw Python or library text in ``text``, or None."""
    for leak in _LEAKS:
        if leak in text:
            return leak
    year = re.search(r"year -?\d+ is out of range", text)
    if year:
        return year.group(0)
    found = _EXCEPTION_NAMES.search(text)
    return found.group(0) if found else None


class Violation(AssertionError):
    """A broken invariant; each subclass is one kind, reported separately."""

    kind = "violation"


_KINDS: dict[str, type[Violation]] = {}


def _kind(name: str) -> type[Violation]:
    if name not in _KINDS:
        cls = type(f"{name.title().replace('_', '')}Violation", (Violation,), {"kind": name})
        _KINDS[name] = cls
    return _KINDS[name]


def violation(kind: str, face: str, call: Sequence[Any] | Mapping[str, Any], detail: str) -> None:
    """Report a broken invariant: raise it, or record it in survey mode."""
    survey = os.environ.get("GHL_SMS_HARNESS_SURVEY")
    if survey:
        with open(survey, "a", encoding="utf-8") as out:
            record = {"face": face, "kind": kind, "call": call, "detail": detail[:1500]}
            out.write(json.dumps(record, ensure_ascii=False, default=repr) + "\n")
        return
    raise _kind(kind)(f"[{face}] {kind}: {call!r}\n{detail[:3000]}")


def harness_settings(examples: int) -> settings:
    """Reproducible (derandomized, no example database) and quick; scaled by
    ``GHL_SMS_HARNESS_SCALE`` (e.g. 10 for a long local run)."""
    scale = float(os.environ.get("GHL_SMS_HARNESS_SCALE", "1") or 1)
    return settings(
        max_examples=max(1, int(examples * scale)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


@dataclass(frozen=True)
class Outbound:
    """One outbound message as the sandbox (standing in for GHL) holds it."""

    id: str
    to_number: str | None
    contact_id: str
    contact_phone: str | None
    body: str
    status: str

    @property
    def texted(self) -> str | None:
        """The number the carrier was handed: the message's own, else its contact's."""
        return self.to_number or self.contact_phone


def outbound_messages(sandbox_file: Path) -> dict[str, Outbound]:
    """Every outbound message in a sandbox file, read-only; {} when there is no file."""
    if not sandbox_file.exists():
        return {}
    conn = sqlite3.connect(f"file:{sandbox_file}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT m.id, m.to_number, m.contact_id, c.phone, m.body, m.status "
            "FROM messages m LEFT JOIN contacts c ON c.id = m.contact_id "
            "WHERE m.direction = 'outbound' ORDER BY m.seq"
        ).fetchall()
    except sqlite3.DatabaseError:
        return {}  # not created yet (the CLI failed before the sandbox opened)
    finally:
        conn.close()
    return {
        str(r[0]): Outbound(str(r[0]), r[1], str(r[2]), r[3], str(r[4]), str(r[5])) for r in rows
    }


@dataclass
class Tally:
    """How many generated calls ran, by face and outcome (for the closing report)."""

    calls: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, count: int = 1) -> None:
        self.calls[key] = self.calls.get(key, 0) + count

    def dump(self, name: str) -> None:
        target = os.environ.get("GHL_SMS_HARNESS_TALLY")
        if target:
            with open(target, "a", encoding="utf-8") as out:
                out.write(json.dumps({"test": name, **self.calls}) + "\n")
