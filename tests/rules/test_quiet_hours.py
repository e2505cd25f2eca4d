from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import geocoder

from ghl_sms.rules.area_codes import (
    STATE_BY_AREA_CODE,
    STATE_NAMES,
    normalize_state,
    state_for_area_code,
)
from ghl_sms.rules.phones import parse_phone
from ghl_sms.rules.quiet_hours import (
    FEDERAL_WINDOW,
    STATE_WINDOWS,
    UNKNOWN_STATE_WINDOW,
    Window,
    allowed_at,
    check_quiet_hours,
    is_valid_zone,
    next_allowed,
    recipient_time,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def check(number: str, instant: datetime, **kwargs):
    return check_quiet_hours(instant, recipient_time(phone=parse_phone(number), **kwargs))


# sms-rules §4.3, "Worked examples" (UTC instant -> decision), plus the other half of
# the multi-zone Florida panhandle area code.
@pytest.mark.parametrize(
    ("number", "contact_tz", "instant", "local", "allowed"),
    [
        ("+12125551234", None, utc(2025, 6, 2, 0, 30), ["Sun 20:30 EDT"], True),
        ("+18502221234", None, utc(2025, 6, 2, 0, 30), ["Sun 20:30 EDT"], False),
        ("+18502001234", None, utc(2025, 6, 2, 0, 30), ["Sun 19:30 CDT"], True),
        ("+12082001234", None, utc(2025, 6, 2, 3, 30), ["Sun 21:30 MDT", "Sun 20:30 PDT"], False),
        ("+19155551234", None, utc(2025, 6, 1, 16, 30), ["Sun 10:30 MDT"], False),
        ("+16025551234", "America/Phoenix", utc(2025, 6, 2, 3, 30), ["Sun 20:30 MST"], True),
    ],
    ids=["nyc-federal", "tallahassee-fl", "panhandle-central", "idaho-two-zones",
         "el-paso-tx-sunday", "phoenix-contact-tz"],
)  # fmt: skip
def test_the_worked_examples_of_the_rules(number, contact_tz, instant, local, allowed):
    result = check(number, instant, contact_timezone=contact_tz)
    assert [f"{t:%a %H:%M %Z}" for t in result.local_times] == local
    assert result.allowed is allowed


def test_a_toll_free_number_uses_the_location_zone_and_the_unknown_state_window():
    recipient = recipient_time(
        phone=parse_phone("+18005551234"), location_timezone="America/Chicago"
    )
    assert recipient.zones == ("America/Chicago",)
    assert recipient.zone_source == "location"
    assert recipient.window == UNKNOWN_STATE_WINDOW
    # Sunday noon in Chicago: federal hours, but no Sunday sends when the state is unknown.
    result = check_quiet_hours(utc(2025, 6, 1, 17, 0), recipient)
    assert result.allowed is False
    assert result.next_allowed_at == utc(2025, 6, 2, 14, 0)  # Monday 09:00 CDT


def test_the_idaho_number_may_go_once_both_zones_are_inside_the_window():
    result = check("+12082001234", utc(2025, 6, 2, 3, 30))
    # Boise opens at 08:00 MDT while Los Angeles is still at 07:00; both are open from
    # 09:00 MDT = 08:00 PDT.
    assert result.next_allowed_at == utc(2025, 6, 2, 15, 0)
    assert allowed_at(utc(2025, 6, 2, 15, 0), ("America/Boise", "America/Los_Angeles"),
                      FEDERAL_WINDOW)  # fmt: skip
    assert not allowed_at(utc(2025, 6, 2, 14, 59), ("America/Boise", "America/Los_Angeles"),
                          FEDERAL_WINDOW)  # fmt: skip


def test_el_paso_may_be_texted_from_noon_on_a_texas_sunday():
    result = check("+19155551234", utc(2025, 6, 1, 16, 30))
    assert result.recipient.states == ("TX",)
    assert result.next_allowed_at == utc(2025, 6, 1, 18, 0)  # 12:00 MDT


def test_the_window_opens_at_8am_local_on_both_sides_of_the_spring_dst_change():
    zones = ("America/New_York",)
    # Saturday 8 March 2025 is still EST (UTC-5); Sunday 9 March is EDT (UTC-4).
    assert not allowed_at(utc(2025, 3, 8, 12, 59), zones, FEDERAL_WINDOW)
    assert allowed_at(utc(2025, 3, 8, 13, 0), zones, FEDERAL_WINDOW)
    assert not allowed_at(utc(2025, 3, 9, 11, 59), zones, FEDERAL_WINDOW)
    assert allowed_at(utc(2025, 3, 9, 12, 0), zones, FEDERAL_WINDOW)
    # From Saturday 22:00 EST, the next opening is 08:00 EDT, an hour "earlier" in UTC.
    assert next_allowed(utc(2025, 3, 9, 3, 0), zones, FEDERAL_WINDOW) == utc(2025, 3, 9, 12, 0)


def test_the_window_closes_at_9pm_local_on_both_sides_of_the_autumn_dst_change():
    zones = ("America/Chicago",)
    # Sunday 2 November 2025: CDT (UTC-5) until 02:00, then CST (UTC-6).
    assert allowed_at(utc(2025, 11, 2, 1, 59), zones, FEDERAL_WINDOW)  # Sat 20:59 CDT
    assert not allowed_at(utc(2025, 11, 2, 2, 0), zones, FEDERAL_WINDOW)  # Sat 21:00 CDT
    assert allowed_at(utc(2025, 11, 3, 2, 59), zones, FEDERAL_WINDOW)  # Sun 20:59 CST
    assert not allowed_at(utc(2025, 11, 3, 3, 0), zones, FEDERAL_WINDOW)  # Sun 21:00 CST
    assert next_allowed(utc(2025, 11, 2, 2, 0), zones, FEDERAL_WINDOW) == utc(2025, 11, 2, 14, 0)


def test_arizona_keeps_its_offset_when_the_rest_of_the_country_changes():
    zones = ("America/Phoenix",)
    for day in (8, 9, 10):  # across the March 2025 change elsewhere
        assert next_allowed(utc(2025, 3, day, 5, 0), zones, FEDERAL_WINDOW) == utc(2025, 3, day, 15)


def test_two_zones_of_different_dst_rules_are_both_respected():
    # Idaho's 208 prefix in the week after the spring change: Boise and LA move together,
    # but the check is per zone all the same.
    zones = ("America/Boise", "America/Los_Angeles")
    assert next_allowed(utc(2025, 3, 9, 5, 0), zones, FEDERAL_WINDOW) == utc(2025, 3, 9, 15, 0)


def test_the_contact_zone_wins_over_the_number_zones():
    recipient = recipient_time(
        contact_timezone="America/Chicago", phone=parse_phone("+12125551234")
    )
    assert (recipient.zones, recipient.zone_source) == (("America/Chicago",), "contact")


def test_a_misspelt_contact_zone_is_ignored_and_reported():
    recipient = recipient_time(contact_timezone="Eastern", phone=parse_phone("+12125551234"))
    assert (recipient.zones, recipient.zone_source) == (("America/New_York",), "number")
    assert recipient.ignored_timezones == ("Eastern",)


def test_with_no_zone_at_all_the_local_time_is_unknown():
    recipient = recipient_time(phone=parse_phone("+18005551234"))
    result = check_quiet_hours(utc(2025, 6, 2, 15), recipient)
    assert (result.allowed, result.next_allowed_at, result.recipient.zone_source) == (
        None,
        None,
        None,
    )
    assert not allowed_at(utc(2025, 6, 2, 15), (), FEDERAL_WINDOW)


def test_the_strictest_of_the_address_state_and_the_area_code_state_applies():
    # A Texas contact with a Florida number: FL's 20:00 close and TX's Sunday noon start.
    recipient = recipient_time(
        contact_state="Texas", contact_timezone="America/Chicago", phone=parse_phone("+13055551234")
    )
    assert recipient.states == ("TX", "FL")
    assert recipient.window.describe() == "Mon-Sat 09:00-20:00, Sun 12:00-20:00"


def test_a_state_without_a_row_gets_the_federal_window():
    assert recipient_time(phone=parse_phone("+12125551234")).window == FEDERAL_WINDOW


def test_a_us_recipient_whose_state_is_unknown_gets_the_unknown_state_window():
    recipient = recipient_time(contact_timezone="America/New_York")
    assert (recipient.states, recipient.window) == ((), UNKNOWN_STATE_WINDOW)


def test_an_address_state_abroad_is_not_taken_for_a_us_state():
    recipient = recipient_time(contact_state="WA", contact_country="AU",
                               contact_timezone="Australia/Perth")  # fmt: skip
    assert recipient.states == ()


def test_a_foreign_number_gets_the_federal_window():
    recipient = recipient_time(phone=parse_phone("+442079460958"))
    assert (recipient.zones, recipient.window) == (("Europe/London",), FEDERAL_WINDOW)


def test_rhode_island_allows_only_weekday_office_hours_and_short_saturdays():
    rhode_island = STATE_WINDOWS["RI"]
    assert rhode_island.describe() == (
        "Mon-Fri 09:00-18:00, Sat 10:00-17:00, Sun none, not on holidays"
    )
    zones = ("America/New_York",)
    assert not allowed_at(utc(2025, 6, 7, 13, 30), zones, rhode_island)  # Sat 09:30
    assert allowed_at(utc(2025, 6, 7, 14, 0), zones, rhode_island)  # Sat 10:00
    assert not allowed_at(utc(2025, 6, 7, 21, 0), zones, rhode_island)  # Sat 17:00
    assert next_allowed(utc(2025, 6, 7, 21, 0), zones, rhode_island) == utc(2025, 6, 9, 13, 0)


def test_states_that_ban_holiday_texts_skip_the_holidays_the_caller_names():
    zones = ("America/Chicago",)
    july_4 = date(2025, 7, 4)  # a Friday
    instant = utc(2025, 7, 4, 15, 0)  # 10:00 CDT
    assert allowed_at(instant, zones, STATE_WINDOWS["AL"])
    assert not allowed_at(instant, zones, STATE_WINDOWS["AL"], holidays={july_4})
    assert allowed_at(instant, zones, STATE_WINDOWS["TX"], holidays={july_4})
    # Friday is a holiday and Sunday is closed in Alabama: Saturday 08:00.
    assert next_allowed(instant, zones, STATE_WINDOWS["AL"], holidays={july_4}) == utc(
        2025, 7, 5, 13, 0
    )


def test_the_window_includes_its_opening_and_excludes_its_closing_minute():
    florida = STATE_WINDOWS["FL"]
    zones = ("America/New_York",)
    assert allowed_at(utc(2025, 6, 2, 12, 0), zones, florida)  # 08:00
    assert allowed_at(utc(2025, 6, 2, 23, 59, 59), zones, florida)  # 19:59:59
    assert not allowed_at(utc(2025, 6, 3, 0, 0), zones, florida)  # 20:00


def test_zones_whose_windows_never_overlap_have_no_next_allowed_moment():
    zones = ("America/New_York", "Asia/Shanghai")  # 12 or 13 hours apart
    assert next_allowed(utc(2025, 6, 2), zones, STATE_WINDOWS["RI"]) is None


def test_an_aware_instant_in_any_zone_gives_the_same_answer():
    eastern = datetime(2025, 6, 1, 20, 30, tzinfo=ZoneInfo("America/New_York"))
    assert allowed_at(eastern, ("America/New_York",), STATE_WINDOWS["FL"]) is False


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError):
        allowed_at(datetime(2025, 6, 2, 12), ("America/New_York",), FEDERAL_WINDOW)
    with pytest.raises(ValueError):
        next_allowed(datetime(2025, 6, 2, 12), ("America/New_York",), FEDERAL_WINDOW)


def test_intersecting_windows_keeps_the_later_start_the_earlier_end_and_closed_days():
    texas, alabama = STATE_WINDOWS["TX"], STATE_WINDOWS["AL"]
    both = texas.intersect(alabama)
    assert both.days == ((time(9), time(20)),) * 6 + (None,)
    assert both.no_holidays


def test_a_window_needs_seven_days():
    with pytest.raises(ValueError):
        Window("broken", ((time(8), time(21)),) * 6)


def test_zone_names_are_checked_against_the_iana_database():
    assert is_valid_zone("America/Chicago")
    assert not is_valid_zone("Etc/Unknown")
    assert not is_valid_zone("Central Time")
    assert not is_valid_zone("../../etc/passwd")
    assert not is_valid_zone(None)


_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
          "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
          "America/Boise"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                         timezones=st.just(UTC)),
    zones=st.lists(st.sampled_from(_ZONES), min_size=1, max_size=2, unique=True),
    state=st.sampled_from(sorted(STATE_WINDOWS)),
)  # fmt: skip
def test_next_allowed_is_allowed_and_nothing_before_it_is(instant, zones, state):
    window = STATE_WINDOWS[state]
    found = next_allowed(instant, zones, window)
    if found is None:
        return
    assert found >= instant
    assert allowed_at(found, zones, window)
    probe = instant
    while probe < found:  # every quarter hour before it is closed
        assert not allowed_at(probe, zones, window)
        probe += timedelta(minutes=15)


# --- area codes -------------------------------------------------------------------------


def test_every_state_with_its_own_quiet_hours_has_area_codes():
    states = set(STATE_BY_AREA_CODE.values())
    assert set(STATE_WINDOWS) <= states
    assert states <= set(STATE_NAMES)


@pytest.mark.parametrize(
    ("npa", "state"),
    [("850", "FL"), ("305", "FL"), ("405", "OK"), ("301", "MD"), ("206", "WA"), ("915", "TX"),
     ("203", "CT"), ("205", "AL"), ("504", "LA"), ("601", "MS"), ("617", "MA"), ("401", "RI"),
     ("502", "KY"), ("313", "MI"), ("612", "MN"), ("505", "NM"), ("702", "NV"), ("801", "UT"),
     ("212", "NY"), ("787", "PR"), ("800", None), ("416", None)],
)  # fmt: skip
def test_area_codes_map_to_the_state_they_were_assigned_to(npa, state):
    assert state_for_area_code(npa) == state


def test_the_area_code_table_agrees_with_the_phonenumbers_geocoder():
    # Cross-check only: the table is the source of truth at run time.
    names = {name: code for code, name in STATE_NAMES.items()}
    names["Washington State"], names["Washington D.C."] = "WA", "DC"
    disagreements = {}
    for npa, state in STATE_BY_AREA_CODE.items():
        for exchange in ("200", "234", "345", "456", "555", "678", "789"):
            number = phonenumbers.parse(f"+1{npa}{exchange}1234")
            if phonenumbers.is_valid_number(number):
                place = geocoder.description_for_number(number, "en").split(", ")[-1]
                found = names.get(place, place if place in STATE_NAMES else None)
                if found is not None and found != state:
                    disagreements[npa] = (state, place)
                break
    assert disagreements == {}


@pytest.mark.parametrize(
    ("value", "code"),
    [("FL", "FL"), ("fl", "FL"), (" Florida ", "FL"), ("new york", "NY"), ("D.C.", "DC"),
     ("Washington DC", "DC"), ("Puerto Rico", "PR"), ("Ontario", None), ("", None), (None, None)],
)  # fmt: skip
def test_contact_states_are_read_as_codes_or_names(value, code):
    assert normalize_state(value) == code
