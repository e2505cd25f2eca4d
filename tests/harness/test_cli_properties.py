"""Property: every CLI call, sensible or not, ends with a clear answer.

Generated argument lists for the real commands (seeded contacts and numbers mixed with
nonsense: empty strings, unicode, huge numbers, two recipients, flags twice, ``-``, bad
--at) run through the console script's own entry point in-process, a few in a row on one
sandbox file. For each call: no traceback or "ghl-sms bug", an exit code from the README,
JSON on stdout with --json (errors as ``{"error": {"code", "message", "hint"}}``), and
every message the sandbox holds afterwards was reported, to the number it went to.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.fuzz import CONTACT_IDS, PHONES, SENDER_NUMBERS, Tally, harness_settings
from support.fuzz_cli import CliFuzzer
from support.fuzz_values import (
    AT_VALUES,
    CAMPAIGN_IDS,
    CLEAN_TEXT,
    CONTACT_LISTS,
    CONTACT_VALUES,
    COUNTS,
    CURSORS,
    FILE_NAMES,
    FROM_VALUES,
    INTERVALS,
    KEY_VALUES,
    LIMITS,
    MEDIA_VALUES,
    MESSAGE_IDS,
    PHONE_VALUES,
    TAGS,
    TEXT_VALUES,
    fixture_files,
    nonsense,
)

TALLY = Tally()
Args = list[str]
Call = tuple[Args, str | None]


@pytest.fixture(scope="module", autouse=True)
def _tally() -> Iterator[None]:
    yield
    TALLY.dump("cli")


def pair(option: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[Args]:
    return values.map(lambda v: [option, v])


def flag(option: str) -> st.SearchStrategy[Args]:
    return st.just([option])


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in n draws (hypothesis favours the first element, False)."""
    return st.sampled_from([False] * (n - 1) + [True])


def maybe(option: str, one_in_n: int) -> st.SearchStrategy[Args]:
    """The option about once in ``one_in_n`` draws."""
    return one_in(one_in_n).map(lambda given: [option] if given else [])


def usually(option: str, n: int) -> st.SearchStrategy[Args]:
    """The option except about once in ``n`` draws."""
    return one_in(n).map(lambda left_out: [] if left_out else [option])


# Clean: what a careful user types (seeded contacts, real numbers, plain text).
CLEAN_RECIPIENT = st.one_of(
    pair("--to", st.sampled_from(PHONES)), pair("--contact", st.sampled_from(CONTACT_IDS))
)
# Noisy: anything, sensible or not.
RECIPIENT = st.one_of(pair("--to", PHONE_VALUES), pair("--contact", CONTACT_VALUES))
EXTRA_RECIPIENT = st.one_of(RECIPIENT, pair("--conversation", st.one_of(st.just("nope"), nonsense)))
STDIN = "Hello from stdin\n"
NO_ARGS: st.SearchStrategy[Args] = st.just([])


@st.composite
def command(
    draw: st.DrawFn,
    words: Args,
    fragments: list[st.SearchStrategy[Args]],
    positional: st.SearchStrategy[Args] = NO_ARGS,
    *,
    connects: bool = True,
    noisy: bool = True,
    most: int = 4,
) -> Call:
    """``words`` + --sandbox (mostly) + --json (often) + some fragments, in any order;
    noisy calls sometimes repeat an option or carry a stray argument."""
    parts: list[Args] = []
    if connects:
        parts.append(draw(usually("--sandbox", 12)))
    parts.append(draw(usually("--json", 3)))
    if fragments:
        parts.extend(draw(st.lists(st.one_of(*fragments), max_size=most)))
    parts.append(draw(positional))
    if noisy and draw(one_in(8)) and any(parts):  # an option or flag given twice
        parts.append(draw(st.sampled_from([p for p in parts if p])))
    if noisy and draw(one_in(10)):
        parts.append([draw(nonsense)])  # a stray argument
    ordered = draw(st.permutations(parts))
    args = list(words) + [a for part in ordered for a in part]
    reads_stdin = "-" in args[len(words) :]
    return args, STDIN if reads_stdin else None


def optional_text(texts: st.SearchStrategy[str], one_in_n: int) -> st.SearchStrategy[Args]:
    """[text], or nothing about once in ``one_in_n`` draws."""
    return st.tuples(one_in(one_in_n), texts).map(lambda t: [] if t[0] else [t[1]])


def send(noisy: bool) -> st.SearchStrategy[Call]:
    clean = [
        pair("--at", st.sampled_from(("2h", "1d2h", "30m"))), flag("--transactional"),
        flag("--dry-run"), pair("--key", st.sampled_from(("k1", "k2"))), flag("--allow-repeat"),
        pair("--media", st.just("https://example.com/a.jpg")),
        pair("--from", st.sampled_from(SENDER_NUMBERS)), flag("--ignore-quiet-hours"),
    ]  # fmt: skip
    wild = [
        EXTRA_RECIPIENT, pair("--at", AT_VALUES), pair("--from", FROM_VALUES),
        pair("--media", MEDIA_VALUES), pair("--key", KEY_VALUES), pair("--file", FILE_NAMES),
        flag("--allow-repeat"), flag("--transactional"), flag("--dry-run"),
        flag("--ignore-quiet-hours"),
    ]  # fmt: skip
    recipient = RECIPIENT if noisy else CLEAN_RECIPIENT
    text = optional_text(TEXT_VALUES, 6) if noisy else CLEAN_TEXT.map(lambda t: [t])
    return st.tuples(recipient, text).flatmap(
        lambda rt: command(
            ["send", *rt[0]], wild if noisy else clean, st.just(rt[1]), noisy=noisy, most=3
        )
    )


def check(noisy: bool) -> st.SearchStrategy[Call]:
    fragments = [
        RECIPIENT, pair("--text", TEXT_VALUES), pair("--media", MEDIA_VALUES),
        pair("--from", FROM_VALUES), flag("--transactional"),
    ]  # fmt: skip
    recipient = RECIPIENT if noisy else CLEAN_RECIPIENT
    return recipient.flatmap(
        lambda r: command(["check", *r], fragments if noisy else [], noisy=noisy, most=2)
    )


def status() -> st.SearchStrategy[Call]:
    fragments = [
        flag("--refresh"), st.just(["--watch", "--max-polls", "3"]),
        pair("--interval", INTERVALS),
    ]  # fmt: skip
    return command(["status"], fragments, MESSAGE_IDS.map(lambda m: [m]), most=2)


def cancel() -> st.SearchStrategy[Call]:
    return command(["cancel"], [], optional_text(MESSAGE_IDS, 3))


def thread() -> st.SearchStrategy[Call]:
    fragments = [EXTRA_RECIPIENT, pair("--limit", LIMITS), pair("--cursor", CURSORS)]
    return st.one_of(CLEAN_RECIPIENT, RECIPIENT).flatmap(
        lambda r: command(["thread", *r], fragments, most=2)
    )


def inbox() -> st.SearchStrategy[Call]:
    fragments = [
        flag("--unread"), pair("--limit", LIMITS), pair("--cursor", CURSORS),
        st.just(["--watch", "--max-polls", "2"]), pair("--interval", INTERVALS),
    ]  # fmt: skip
    return command(["inbox"], fragments, most=2)


def numbers() -> st.SearchStrategy[Call]:
    return command(["numbers"], [], most=0)


def preview() -> st.SearchStrategy[Call]:
    return command(
        ["preview"], [flag("--sandbox")], TEXT_VALUES.map(lambda t: [t]), connects=False, most=1
    )


def bulk_send(noisy: bool) -> st.SearchStrategy[Call]:
    clean_source = st.one_of(
        pair("--tag", st.sampled_from(("sandbox", "reachable", "quiet_hours_fl"))),
        pair("--contacts", CONTACT_LISTS), pair("--csv", st.sampled_from(("list.csv", "ids.csv"))),
        pair("--contacts-file", st.just("ids.txt")),
    )  # fmt: skip
    source = st.one_of(
        pair("--tag", TAGS), pair("--contacts", CONTACT_LISTS), pair("--csv", FILE_NAMES),
        pair("--contacts-file", FILE_NAMES),
    )  # fmt: skip
    clean = [flag("--transactional"), flag("--no-wait"), pair("--per-minute", st.just("60"))]
    wild = [
        source, pair("--file", FILE_NAMES), flag("--transactional"), flag("--no-wait"),
        pair("--quiet-hours", st.sampled_from(("defer", "skip", "never"))),
        pair("--per-minute", COUNTS), flag("--check-dnd"), pair("--name", nonsense),
        pair("--from", FROM_VALUES), pair("--expire-after", AT_VALUES),
        pair("--max-cost", COUNTS),
    ]  # fmt: skip
    template = optional_text(TEXT_VALUES, 6) if noisy else CLEAN_TEXT.map(lambda t: [t])
    head = st.tuples(source if noisy else clean_source, st.sampled_from(([], ["--dry-run"])))
    return st.tuples(head, template).flatmap(
        lambda h: command(
            ["bulk", "send", *h[0][0], *h[0][1]], wild if noisy else clean, st.just(h[1]),
            noisy=noisy, most=2,
        )
    )  # fmt: skip


def bulk_other() -> st.SearchStrategy[Call]:
    verb = st.sampled_from(("status", "report", "pause", "resume", "cancel"))
    fragments = [
        pair("--format", st.sampled_from(("csv", "json", "xml"))),
        pair("--output", FILE_NAMES), flag("--no-wait"),
    ]  # fmt: skip
    return verb.flatmap(
        lambda v: command(
            ["bulk", v],
            fragments if v in ("report", "resume") else [],
            CAMPAIGN_IDS.map(lambda c: [c]),
            most=2,
        )
    )


CLEAN_SEND = send(noisy=False)
CALLS = st.one_of(
    CLEAN_SEND, send(noisy=True), bulk_send(noisy=False), CLEAN_SEND, status(), CLEAN_SEND,
    check(noisy=False), send(noisy=True), cancel(), check(noisy=True), thread(), inbox(),
    numbers(), preview(), bulk_send(noisy=True), bulk_other(),
)  # fmt: skip


@harness_settings(150)
@given(script=st.lists(CALLS, min_size=1, max_size=3))
def test_every_cli_call_ends_in_a_clear_answer_and_reports_what_it_sent(
    script: list[Call],
) -> None:
    with tempfile.TemporaryDirectory(prefix="ghl-sms-harness-") as tmp:
        fixture_files(Path(tmp))
        fuzzer = CliFuzzer(Path(tmp))
        try:
            for args, stdin in script:
                fuzzer.call_and_check(args, stdin)
        finally:
            TALLY.add("examples")
            TALLY.add("calls", fuzzer.calls)
            TALLY.add("texted", fuzzer.texted)
            for code, count in fuzzer.exits.items():
                TALLY.add(f"exit_{code}", count)
