"""Values the harness feeds both faces: seeded ids and numbers mixed with nonsense.

Valid values come from the sandbox's seed (README "Sandbox"), so a good share of the
generated calls really send; the rest is what a hurried user or a confused assistant
types. Files are named relative to the example's temp dir (``fixture_files`` writes them).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from support.fuzz import CONTACT_IDS, PHONES, SENDER_NUMBERS

__all__ = [
    "AT_VALUES",
    "CAMPAIGN_IDS",
    "CLEAN_TEXT",
    "CONTACT_LISTS",
    "CONTACT_VALUES",
    "COUNTS",
    "CURSORS",
    "FILES",
    "FILE_NAMES",
    "FROM_VALUES",
    "INTERVALS",
    "KEY_VALUES",
    "LIMITS",
    "MEDIA_VALUES",
    "MESSAGE_IDS",
    "PHONE_VALUES",
    "TAGS",
    "TEXT_VALUES",
    "fixture_files",
    "nonsense",
]

# Printable or not, any script, but no lone surrogates or NUL (argv cannot carry them).
nonsense = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=24,
).filter(lambda s: not s.startswith("-"))

PHONE_VALUES = st.one_of(
    st.sampled_from(PHONES),
    st.sampled_from(
        (
            "4155550100",
            "(415) 555-0100",
            "+1 415 555 0100",
            "+14155550100,+14155550102",
            "",
            "-",
            "+",
            "abc",
            "0",
            "+999999999999999999999",
            "☎️",
            "+989121234567",
            "+1415555010O",
            "tel:+14155550100",
            "07400123456",
        )
    ),  # fmt: skip
    nonsense,
)
CONTACT_VALUES = st.one_of(
    st.sampled_from(CONTACT_IDS),
    st.sampled_from(("", "nope", " sbxCtReachable000001", "x" * 300, "../etc/passwd", "🎉")),
    nonsense,
)
TEXT_VALUES = st.one_of(
    st.sampled_from(
        (
            "Hello",
            "",
            " ",
            "-",
            "x" * 1601,
            "Ünïcödé 🎉 test",
            "Hi {first_name}",
            "Hi {{contact.first_name}}",
            "Hi {first_name|there}",
            "Hi {nope}",
            "{",
            "}}",
            "STOP",
            "line one\nline two",
            "It’s “quoted”",
            "\r\n",
            "a" * 161,
        )
    ),  # fmt: skip
    nonsense,
)
CLEAN_TEXT = st.sampled_from(("Hello", "See you at 5", "Hi {first_name|there}", "Ünïcödé 🎉"))
AT_VALUES = st.one_of(
    st.sampled_from(
        (
            "2h",
            "30m",
            "1d2h",
            "9999999d",
            "0m",
            "-5m",
            "0",
            "yesterday",
            "",
            "1.5h",
            "nan",
            "inf",
            "1e308s",
            "99999999999999999999h",
            "2026-12-01T09:30:00-05:00",
            "2020-01-01T00:00:00Z",
            "2026-03-05T02:00:00-08:00",
            "2026-13-45T99:99",
            "9999-12-31T23:59:59Z",
            "2026-03-04T18:00:00",
        )
    ),  # fmt: skip
    nonsense,
)
FROM_VALUES = st.one_of(
    st.sampled_from(SENDER_NUMBERS),
    st.sampled_from(("+15550000000", "nope", "", "4155550190")),
)
MEDIA_VALUES = st.sampled_from((
    "https://example.com/a.jpg", "http://127.0.0.1/x.png", "ftp://x/y", "", "not a url",
    "https://" + "a" * 3000 + ".com/x.jpg", "https://example.com/a.jpg?X-Amz-Expires=60",
))  # fmt: skip
KEY_VALUES = st.sampled_from(("k1", "k2", "", "ключ", "x" * 500, " "))
MESSAGE_IDS = st.one_of(
    st.just("$MSG"),
    st.sampled_from(("noSuchMessage00000001", "", "-", "x" * 200, "../../etc", "🎉")),
    nonsense,
)
CAMPAIGN_IDS = st.one_of(
    st.just("$CMP"), st.sampled_from(("cmp_000000000000", "", "nope", "🎉")), nonsense
)
TAGS = st.one_of(
    st.sampled_from(("sandbox", "reachable", "sms_dnd", "quiet_hours_fl", "nosuchtag", "", "🎉")),
    nonsense,
)
CONTACT_LISTS = st.one_of(
    st.lists(st.sampled_from(CONTACT_IDS), min_size=1, max_size=4).map(",".join),
    st.sampled_from(("", ",,,", "nope,nope", "sbxCtReachable000001,sbxCtReachable000001")),
)
LIMITS = st.sampled_from(("1", "20", "100", "0", "101", "-1", "abc", "99999999999999999999", ""))
CURSORS = st.one_of(st.sampled_from(("", "nope", "0", "99999")), nonsense)
INTERVALS = st.sampled_from(("0.5", "2", "0", "abc", "1e9", "-1", "nan"))
COUNTS = st.sampled_from(("1", "60", "0", "-3", "abc", "99999999999999999999", "1.5"))

# name -> content (bytes); a name missing here is a missing file on purpose.
FILES: dict[str, bytes] = {
    "msg.txt": b"Hello from a file\n",
    "latin1.txt": b"caf\xe9 ce soir\n",
    "empty.txt": b"",
    "list.csv": b"phone,first_name\n+14155550100,Ava\n+13055550100,\n",
    "ids.csv": b"contact_id,first_name\nsbxCtReachable000001,Ava\n+14155550100,Dup\n",
    "empty.csv": b"",
    "header.csv": b"phone,first_name\n",
    "latin1.csv": b"phone,first_name\n+14155550100,Ren\xe9\n",
    "ids.txt": b"sbxCtReachable000001\nsbxCtFlorida00000001\n",
    "ledger-empty.db": b"",
    "ledger-garbage.db": b"this is not a database\n" * 40,
}
FILE_NAMES = st.sampled_from((*FILES, "missing.txt", "missing.csv", "no/such/dir/x", "-", ""))


def fixture_files(directory: Path) -> None:
    """Write the files the generated calls name into the example's directory."""
    for name, content in FILES.items():
        (directory / name).write_bytes(content)
