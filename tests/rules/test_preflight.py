import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ghl_sms.ghl._models import Contact, PhoneNumber
from ghl_sms.rules.mms import Attachment
from ghl_sms.rules.preflight import Reason, ReasonCode, Verdict, preflight

# Monday 2 June 2025, 16:00 UTC: noon in New York, inside every state's window.
MIDDAY = datetime(2025, 6, 2, 16, 0, tzinfo=UTC)
# Sunday 1 June 2025, 20:30 in New York (00:30 UTC on Monday).
SUNDAY_EVENING = datetime(2025, 6, 2, 0, 30, tzinfo=UTC)


def contact(**fields: Any) -> Contact:
    data: dict[str, Any] = {"id": "c1", "phone": "+12125551234"}
    data.update(fields)
    return Contact.model_validate(data)


def sender(sms: bool = True, mms: bool = True, **fields: Any) -> PhoneNumber:
    data: dict[str, Any] = {
        "phoneNumber": "+15125550000",
        "capabilities": {"sms": sms, "mms": mms, "voice": True},
        "type": "local",
    }
    data.update(fields)
    return PhoneNumber.model_validate(data)


def run(**kwargs: Any) -> Verdict:
    kwargs.setdefault("contact", contact())
    kwargs.setdefault("sender", sender())
    kwargs.setdefault("text", "Hi Ann, your table is ready.")
    kwargs.setdefault("now", MIDDAY)
    return preflight(**kwargs)


def test_a_plain_message_to_a_reachable_contact_is_ok():
    verdict = run()
    assert (verdict.level, verdict.reasons, verdict.to) == ("ok", (), "+12125551234")
    assert verdict.ok and not verdict.blocked
    assert verdict.segments.segments == 1
    assert verdict.next_allowed_at is None
    assert verdict.quiet_hours is not None and verdict.quiet_hours.allowed is True


@pytest.mark.parametrize(
    "fields",
    [
        {"dnd": True},
        {"dndSettings": {"SMS": {"status": "active"}}},
        {"dndSettings": {"SMS": {"status": "permanent", "code": "101"}}},
        {"dnd": True, "dndSettings": {"SMS": {"status": "inactive"}}},
        {"dndSettings": {"sms": {"status": "active"}}},  # the v3 spelling
    ],
)
def test_sms_dnd_blocks(fields):
    verdict = run(contact=contact(**fields))
    assert (verdict.level, verdict.codes) == ("blocked", (ReasonCode.SMS_DND,))


def test_dnd_on_another_channel_does_not_block_sms():
    assert run(contact=contact(dndSettings={"Email": {"status": "active"}})).ok


def test_the_dnd_reason_says_what_is_set():
    reason = run(contact=contact(dndSettings={"SMS": {"status": "permanent"}})).reasons[0]
    assert reason.details == {"dnd": False, "sms_status": "permanent"}


def test_a_local_opt_out_blocks():
    assert run(opted_out=True).codes == (ReasonCode.OPTED_OUT,)


@pytest.mark.parametrize("ledger", [{"+12125551234"}, {"c1"}, frozenset({"c1", "c2"})])
def test_the_opt_out_ledger_matches_the_number_or_the_contact_id(ledger):
    assert run(opted_out=ledger).codes == (ReasonCode.OPTED_OUT,)


def test_an_opt_out_of_someone_else_does_not_block():
    assert run(opted_out={"+13055550000", "c9"}).ok


def test_a_single_ledger_key_is_not_read_as_a_set_of_characters():
    assert run(opted_out="+12125551234").codes == (ReasonCode.OPTED_OUT,)
    assert run(opted_out="c12").ok  # "c1" is a substring, not the same contact


@pytest.mark.parametrize("phone", [None, "", "   "])
def test_a_contact_without_a_phone_is_blocked(phone):
    assert run(contact=contact(phone=phone)).codes == (ReasonCode.NO_PHONE,)


def test_no_contact_and_no_number_is_blocked():
    assert run(contact=None).codes == (ReasonCode.NO_PHONE,)


def test_a_number_can_be_texted_without_a_contact():
    verdict = run(contact=None, to="(212) 555-1234")
    assert (verdict.level, verdict.to) == ("ok", "+12125551234")


def test_an_invalid_number_is_blocked_with_the_reason():
    verdict = run(contact=contact(phone="555-1234"))
    assert verdict.reasons == (
        Reason(
            ReasonCode.INVALID_PHONE,
            "blocked",
            "'555-1234' is not a valid phone number; fix it on the contact "
            "(E.164, such as +15551234567).",
            {"phone": "555-1234", "problem": "invalid"},
        ),
    )
    assert verdict.to is None


def test_a_national_number_uses_the_default_region():
    verdict = run(contact=contact(phone="020 7946 0958"), default_region="GB")
    assert verdict.to == "+442079460958"


def test_texting_the_sending_number_itself_is_blocked():
    assert run(contact=contact(phone="+15125550000")).codes == (ReasonCode.SAME_AS_SENDER,)


def test_an_empty_message_is_blocked_but_an_mms_without_text_is_not():
    assert run(text="  ").codes == (ReasonCode.EMPTY,)
    assert run(text="", attachments=["https://cdn.test/a.png"]).ok


def test_a_message_over_the_limit_is_blocked():
    verdict = run(text="a" * 1601)
    assert verdict.level == "blocked"
    assert verdict.codes[0] == ReasonCode.TOO_LONG
    assert verdict.reasons[0].details == {"length": 1601, "limit": 1600}


def test_a_sender_without_sms_is_blocked():
    assert run(sender=sender(sms=False)).codes == (ReasonCode.SMS_NOT_SUPPORTED,)


def test_mms_from_a_number_without_mms_is_blocked():
    verdict = run(sender=sender(mms=False), attachments=["https://cdn.test/a.png"])
    assert verdict.codes == (ReasonCode.MMS_NOT_SUPPORTED,)
    assert run(sender=sender(mms=False)).ok  # plain SMS is fine


def test_a_sender_whose_capabilities_are_missing_is_a_warning_not_a_block():
    bare = PhoneNumber.model_validate({"phoneNumber": "+15125550000"})
    verdict = run(sender=bare, attachments=["https://cdn.test/a.png"])
    assert (verdict.level, verdict.codes) == ("warn", (ReasonCode.SENDER_CAPABILITIES_UNKNOWN,))


def test_without_a_sender_the_sender_checks_are_skipped():
    assert run(sender=None, attachments=["https://cdn.test/a.png"]).ok


def test_bad_attachments_are_blocked_and_risky_ones_warned_about():
    verdict = run(attachments=["ftp://cdn.test/a.png", "https://cdn.test/menu.pdf"])
    assert verdict.level == "blocked"
    assert [(r.code, r.level, r.details["issue"]) for r in verdict.reasons] == [
        (ReasonCode.BAD_ATTACHMENT, "blocked", "bad_url"),
        (ReasonCode.ATTACHMENT_WARNING, "warn", "carrier_dependent_type"),
    ]


def test_too_many_or_too_large_attachments_are_blocked():
    eleven = [f"https://cdn.test/{i}.png" for i in range(11)]
    assert run(attachments=eleven).codes == (ReasonCode.BAD_ATTACHMENT,)
    big = [Attachment("https://cdn.test/a.jpg", size=6_000_000)]
    assert run(attachments=big).codes == (ReasonCode.BAD_ATTACHMENT,)


def test_quiet_hours_warn_with_the_next_allowed_time():
    florida = contact(phone="+18502221234")  # Tallahassee: 20:30 EDT, Florida ends at 20:00
    verdict = run(contact=florida, now=SUNDAY_EVENING)
    assert (verdict.level, verdict.codes) == ("warn", (ReasonCode.QUIET_HOURS,))
    assert verdict.next_allowed_at == datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    reason = verdict.reasons[0]
    assert reason.details == {
        "zones": ["America/New_York"],
        "zone_source": "number",
        "states": ["FL"],
        "window": "08:00-20:00 every day",
        "next_allowed_at": "2025-06-02T12:00:00+00:00",
    }
    assert reason.message == (
        "It is Sun 20:30 EDT for the recipient, outside the allowed hours (08:00-20:00 every "
        "day); send at 2025-06-02 12:00 UTC or later, or mark it transactional if it isn't "
        "marketing."
    )


def test_the_same_evening_is_fine_in_new_york():
    assert run(now=SUNDAY_EVENING).ok


def test_a_transactional_message_ignores_quiet_hours():
    verdict = run(contact=contact(phone="+18502221234"), now=SUNDAY_EVENING, transactional=True)
    assert (verdict.level, verdict.quiet_hours, verdict.next_allowed_at) == ("ok", None, None)


def test_the_contact_time_zone_and_state_are_used():
    # A Rhode Island contact (no Sunday texts) with a New York number.
    verdict = run(contact=contact(state="Rhode Island", timezone="America/New_York"),
                  now=datetime(2025, 6, 1, 16, 0, tzinfo=UTC))  # fmt: skip
    assert verdict.codes == (ReasonCode.QUIET_HOURS,)
    assert verdict.reasons[0].details["states"] == ["RI", "NY"]
    assert verdict.next_allowed_at == datetime(2025, 6, 2, 13, 0, tzinfo=UTC)


def test_a_toll_free_recipient_falls_back_to_the_location_zone():
    verdict = run(contact=contact(phone="+18005551234"), location_timezone="America/Chicago",
                  now=datetime(2025, 6, 1, 17, 0, tzinfo=UTC))  # fmt: skip
    assert verdict.codes == (ReasonCode.QUIET_HOURS, ReasonCode.TOLL_FREE)
    assert verdict.reasons[0].details["zone_source"] == "location"


def test_an_unknown_local_time_is_a_warning():
    verdict = run(contact=contact(phone="+18005551234"))
    assert verdict.codes == (ReasonCode.LOCAL_TIME_UNKNOWN, ReasonCode.TOLL_FREE)


def test_a_fixed_line_is_suspected_to_be_a_landline():
    verdict = run(contact=contact(phone="+442079460958"), now=MIDDAY.replace(hour=12))
    assert verdict.codes == (ReasonCode.LANDLINE_SUSPECTED,)


def test_many_parts_warn_about_the_cost():
    verdict = run(text="a" * 307)
    assert verdict.codes == (ReasonCode.MANY_SEGMENTS,)
    assert verdict.reasons[0].details == {"segments": 3}
    assert run(text="a" * 306).ok
    assert run(text="a" * 170, many_segments=2).codes == (ReasonCode.MANY_SEGMENTS,)


def test_replaceable_characters_that_force_ucs2_are_pointed_out():
    verdict = run(text="a" * 100 + "’")
    assert verdict.codes == (ReasonCode.UCS2_REPLACEABLE,)
    reason = verdict.reasons[0]
    assert reason.message == (
        "'’' (U+2019) force Unicode (UCS-2): 2 parts instead of 1; replace them with plain "
        "equivalents to save 1."
    )
    assert reason.details["segments_saved"] == 1


def test_ucs2_that_costs_nothing_extra_or_cannot_be_avoided_is_not_pointed_out():
    assert run(text="It’s ready").ok  # one part either way
    assert run(text="a" * 100 + "’😀").ok  # the emoji keeps it UCS-2 anyway


def test_a_first_message_warns_that_ghl_appends_its_footer():
    verdict = run(text="a" * 140, is_first_message=True)
    assert verdict.codes == (ReasonCode.FIRST_MESSAGE_FOOTER,)
    assert verdict.segments.segments == 1
    assert verdict.segments_with_footer is not None
    assert verdict.segments_with_footer.segments == 2
    assert verdict.reasons[0].details["segments_with_footer"] == 2


def test_a_first_message_with_its_own_opt_out_text_and_brand_gets_no_footer():
    text = "Acme: your table is ready. Reply STOP to unsubscribe."
    verdict = run(text=text, is_first_message=True, business_name="Acme")
    assert (verdict.level, verdict.segments_with_footer) == ("ok", None)


def test_blocking_reasons_come_before_warnings_and_all_are_reported():
    verdict = run(contact=contact(dnd=True, phone="+18502221234"), opted_out=True,
                  text="a" * 400, now=SUNDAY_EVENING)  # fmt: skip
    assert verdict.level == "blocked"
    assert verdict.codes == (
        ReasonCode.SMS_DND,
        ReasonCode.OPTED_OUT,
        ReasonCode.QUIET_HOURS,
        ReasonCode.MANY_SEGMENTS,
    )


def test_every_reason_code_is_stable_snake_case():
    assert all(code.value == code.value.lower() and " " not in code.value for code in ReasonCode)


def test_the_verdict_serialises_to_json():
    verdict = run(contact=contact(phone="+18502221234"), now=SUNDAY_EVENING,
                  text="a" * 100 + "’", is_first_message=True)  # fmt: skip
    data = verdict.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["level"] == "warn"
    assert data["next_allowed_at"] == "2025-06-02T12:00:00+00:00"
    assert [r["code"] for r in data["reasons"]] == [
        "quiet_hours", "ucs2_replaceable", "first_message_footer",
    ]  # fmt: skip


def test_now_must_be_aware():
    with pytest.raises(ValueError):
        run(now=datetime(2025, 6, 2, 12))
