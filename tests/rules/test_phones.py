import pytest

from ghl_sms.rules.phones import (
    PhoneInfo,
    PhoneNumberError,
    looks_like_phone,
    parse_phone,
    to_e164,
)


@pytest.mark.parametrize(
    "raw", ["+1 212 555 1234", "(212) 555-1234", "212.555.1234", "1-212-555-1234"]
)
def test_common_us_formats_parse_to_e164(raw):
    assert parse_phone(raw) == PhoneInfo(
        e164="+12125551234",
        region="US",
        line_type="fixed_line_or_mobile",
        time_zones=("America/New_York",),
    )


def test_the_default_region_is_configurable():
    assert to_e164("020 7946 0958", default_region="GB") == "+442079460958"


def test_an_extension_is_dropped_from_the_e164_form():
    assert to_e164("212-555-1234 ext. 45") == "+12125551234"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("555-1234", "invalid"),  # a bare local number is "possible" but not valid
        ("+1 212 555 123", "invalid"),
        ("001 212 555 1234", "invalid"),  # 001 is not the US international prefix
        ("", "unparseable"),
        ("call me", "unparseable"),
    ],
)
def test_numbers_phonenumbers_calls_invalid_are_rejected(raw, reason):
    with pytest.raises(PhoneNumberError) as info:
        parse_phone(raw)
    assert (info.value.raw, info.value.reason) == (raw, reason)
    assert to_e164(raw) is None


def test_a_multi_zone_prefix_reports_every_zone():
    assert parse_phone("+12082001234").time_zones == ("America/Boise", "America/Los_Angeles")


def test_a_toll_free_number_has_no_useful_zone():
    info = parse_phone("+18005551234")
    assert (info.is_toll_free, info.time_zones, info.area_code) == (True, (), "800")


def test_only_nanp_numbers_have_an_area_code():
    assert parse_phone("+19155551234").area_code == "915"
    assert parse_phone("+442079460958").area_code is None


@pytest.mark.parametrize(
    "value",
    ["+14155550102", "(415) 555-0102", "415.555.0102", " 4155550102 ", "+44 7400 123456",
     "tel:+14155550102"],
)  # fmt: skip
def test_written_phone_numbers_look_like_phones(value):
    assert looks_like_phone(value)


@pytest.mark.parametrize(
    "value",
    ["sbxCtSmsDnd000000001", "ve9EPM428h8vShlRW1KT", "Ben Carter", "12345", "", None,
     "+1 415 555 0102 ext 5", "1234567890123456789"],
)  # fmt: skip
def test_ids_names_and_short_or_long_digit_runs_do_not(value):
    assert not looks_like_phone(value)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("abc", "does not look like a number"),
        ("+999 12", "no valid country code"),
        ("+1415555010012345678", "too long"),
    ],
)
def test_an_unparseable_number_is_explained_in_plain_words(raw: str, problem: str) -> None:
    with pytest.raises(PhoneNumberError) as info:
        parse_phone(raw)
    message = str(info.value)
    assert problem in message
    assert "+15551234567" in message  # what to write instead
    assert "(1)" not in message and "string supplied" not in message  # not the library's text
