"""A campaign's send window: parsed to the minute, intersected with the legal hours (the
stricter wins each day), applied alone to transactional messages, and the next allowed
moment found for an injected instant."""

from datetime import UTC, datetime, time

import pytest

from ghl_sms.ghl._models import Contact
from ghl_sms.rules.phones import parse_phone
from ghl_sms.rules.preflight import ReasonCode, preflight
from ghl_sms.rules.quiet_hours import check_quiet_hours, recipient_time
from ghl_sms.rules.send_window import SEND_WINDOW_FORM, SendWindow, apply_send_window

OFFICE = SendWindow(time(9, 30), time(17, 0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours_for(number: str, window: SendWindow | None, *, transactional: bool = False, **kw: str):
    recipient = recipient_time(phone=parse_phone(number), **kw)
    return apply_send_window(recipient, window, transactional=transactional)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("09:30-17:00", time(9, 30), time(17, 0)),
        (" 9:30 - 17:05 ", time(9, 30), time(17, 5)),
        ("00:00-23:59", time(0, 0), time(23, 59)),
    ],
)
def test_a_window_is_read_to_the_minute(text: str, start: time, end: time) -> None:
    window = SendWindow.parse(text)
    assert (window.start, window.end) == (start, end)
    assert str(SendWindow.parse(str(window))) == str(window)  # round-trips (stored as text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("25:00-26:00", "not a time of day"),
        ("09:60-10:00", "not a time of day"),
        ("9-5", "not a send window"),
        ("", "not a send window"),
        ("09:30", "not a send window"),
        ("09:00-09:00", "is empty"),
        ("17:00-09:30", "ends before it starts"),
        ("21:00-02:00", "across midnight are not supported"),
    ],
)
def test_a_bad_window_says_what_to_write(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        SendWindow.parse(text)
    message = str(caught.value)
    assert says in message and SEND_WINDOW_FORM in message and "\n" not in message


def test_seconds_and_zones_are_refused_in_the_library_type() -> None:
    with pytest.raises(ValueError, match="to the minute"):
        SendWindow(time(9, 30, 15), time(17))
    with pytest.raises(ValueError, match="no tzinfo"):
        SendWindow(time(9, tzinfo=UTC), time(17))


def test_the_send_window_narrows_the_federal_hours_every_day() -> None:
    recipient = hours_for("+12125551234", OFFICE, contact_state="NY")
    assert recipient.window.describe() == "09:30-17:00 every day"


def test_the_stricter_wins_on_each_day() -> None:
    # Texas: no texts before noon on Sunday; the window starts at 09:30 on the other days.
    texas = hours_for("+15125551234", OFFICE)
    assert texas.window.describe() == "Mon-Sat 09:30-17:00, Sun 12:00-17:00"
    # Rhode Island ends at 18:00 on weekdays, 10:00-17:00 on Saturday, nothing on Sunday.
    rhode_island = hours_for("+14015551234", SendWindow(time(8), time(20)))
    assert rhode_island.window.describe() == (
        "Mon-Fri 09:00-18:00, Sat 10:00-17:00, Sun none, not on holidays"
    )


def test_a_transactional_message_gets_the_send_window_alone() -> None:
    late = SendWindow(time(20), time(23))
    recipient = hours_for("+12125551234", late, transactional=True)
    assert recipient.window.describe() == "20:00-23:00 every day"
    # Wednesday 02:00 UTC = 21:00 in New York: after the legal hours, inside the window.
    assert check_quiet_hours(utc(2026, 3, 4, 2, 0), recipient).allowed is True
    marketing = hours_for("+12125551234", late)
    assert check_quiet_hours(utc(2026, 3, 4, 2, 0), marketing).allowed is False


def test_without_a_window_marketing_hours_are_unchanged_and_transactional_has_none() -> None:
    plain = recipient_time(phone=parse_phone("+12125551234"))
    assert apply_send_window(plain, None, transactional=False) is plain
    with pytest.raises(ValueError):
        apply_send_window(plain, None, transactional=True)


@pytest.mark.parametrize(
    ("instant", "allowed", "next_at"),
    [
        # Wednesday 08:00 in New York: legal, but before the window: 09:30 EST.
        (utc(2026, 3, 4, 13, 0), False, utc(2026, 3, 4, 14, 30)),
        (utc(2026, 3, 4, 14, 30), True, utc(2026, 3, 4, 14, 30)),  # the start is in
        (utc(2026, 3, 4, 21, 59), True, utc(2026, 3, 4, 21, 59)),
        # 17:00 is out (the end is not included): Thursday 09:30.
        (utc(2026, 3, 4, 22, 0), False, utc(2026, 3, 5, 14, 30)),
        # Saturday 17:00 EST -> Sunday 09:30 EDT, across the change to summer time.
        (utc(2026, 3, 7, 22, 0), False, utc(2026, 3, 8, 13, 30)),
    ],
)
def test_the_next_allowed_moment_is_the_window_opening_in_the_recipients_zone(
    instant: datetime, allowed: bool, next_at: datetime
) -> None:
    check = check_quiet_hours(instant, hours_for("+12125551234", OFFICE))
    assert (check.allowed, check.next_allowed_at) == (allowed, next_at)


def test_texas_on_sunday_waits_for_the_legal_noon_not_the_window() -> None:
    # Sunday 8 March 2026 10:00 CDT (15:00 UTC): inside 09:30-17:00, before Texas' noon.
    check = check_quiet_hours(utc(2026, 3, 8, 15, 0), hours_for("+15125551234", OFFICE))
    assert check.allowed is False
    assert check.next_allowed_at == utc(2026, 3, 8, 17, 0)


def test_preflight_reports_outside_the_window_as_quiet_hours_also_when_transactional() -> None:
    ann = Contact.model_validate({"id": "c1", "phone": "+12125551234"})
    early = utc(2026, 3, 4, 13, 0)  # 08:00 in New York
    for transactional in (False, True):
        verdict = preflight(
            contact=ann, text="Hi", now=early, transactional=transactional, send_window=OFFICE
        )
        [reason] = [r for r in verdict.reasons if r.code == ReasonCode.QUIET_HOURS]
        assert verdict.next_allowed_at == utc(2026, 3, 4, 14, 30)
        assert "send window 09:30-17:00" in reason.message
        assert "transactional" not in reason.message  # no way around the sender's own hours
    inside = preflight(
        contact=ann, text="Hi", now=utc(2026, 3, 4, 15, 0), transactional=True, send_window=OFFICE
    )
    assert ReasonCode.QUIET_HOURS not in inside.codes
    # Transactional without a window: no hours at all, as before.
    assert preflight(contact=ann, text="Hi", now=early, transactional=True).quiet_hours is None


def test_an_unknown_local_time_is_a_warning_as_with_quiet_hours() -> None:
    # A toll-free number has no zone of its own; without the location's there is none.
    toll_free = Contact.model_validate({"id": "c1", "phone": "+18005551234"})
    verdict = preflight(
        contact=toll_free,
        text="Hi",
        now=utc(2026, 3, 4, 13, 0),
        transactional=True,
        send_window=OFFICE,
    )
    assert ReasonCode.LOCAL_TIME_UNKNOWN in verdict.codes
    assert ReasonCode.QUIET_HOURS not in verdict.codes and verdict.next_allowed_at is None
    # With the location's zone it is known: 08:00 in New York, before the window.
    located = preflight(
        contact=toll_free,
        text="Hi",
        now=utc(2026, 3, 4, 13, 0),
        transactional=True,
        send_window=OFFICE,
        location_timezone="America/New_York",
    )
    assert located.next_allowed_at == utc(2026, 3, 4, 14, 30)
