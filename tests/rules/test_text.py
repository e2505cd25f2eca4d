import pytest

from ghl_sms.rules.text import (
    GHL_OPT_OUT_TEXT,
    TextProblem,
    check_text,
    estimate_with_footer,
    ghl_footer,
    has_opt_out_language,
    message_length,
)


def test_a_body_of_1600_characters_is_accepted():
    assert check_text("a" * 1600) is None


def test_a_body_over_1600_characters_is_refused():
    assert check_text("a" * 1601) == TextProblem(
        "too_long",
        "The message is 1,601 characters; the limit is 1,600. "
        "Shorten it or send it as several messages.",
        1601,
        1600,
    )


def test_emoji_count_twice_toward_the_limit_as_in_javascript():
    assert message_length("😀") == 2
    assert check_text("😀" * 800) is None
    problem = check_text("😀" * 801)
    assert problem is not None and problem.code == "too_long"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_or_blank_message_is_refused(text):
    problem = check_text(text)
    assert problem is not None and problem.code == "empty"


def test_an_mms_may_carry_no_text():
    assert check_text("", has_attachments=True) is None


@pytest.mark.parametrize(
    "text",
    ["Reply STOP to unsubscribe", "Text STOP to opt out", "reply 'stop' to end",
     "Msg&data rates may apply. STOP to cancel", "Txt STOP to quit"],
)  # fmt: skip
def test_opt_out_language_is_recognised(text):
    assert has_opt_out_language(text)


@pytest.mark.parametrize("text", ["Stop by the office", "Don't stop now", "See you at 5"])
def test_other_uses_of_stop_are_not_opt_out_language(text):
    assert not has_opt_out_language(text)


def test_ghl_appends_sender_information_and_opt_out_language_to_a_first_message():
    assert ghl_footer("Hi Ann", sender_name="Bob", business_name="Acme Dental") == (
        "\nThanks, Bob at Acme Dental\nReply STOP to unsubscribe"
    )


def test_ghl_appends_nothing_when_the_text_already_has_both():
    text = "Acme Dental: your cleaning is on Tue. Reply STOP to unsubscribe."
    assert ghl_footer(text, business_name="Acme Dental") == ""


def test_ghl_appends_only_what_is_missing():
    assert ghl_footer("Acme Dental: see you Tuesday", business_name="acme dental") == (
        "\n" + GHL_OPT_OUT_TEXT
    )


def test_the_footer_can_add_a_part():
    text = "a" * 140
    assert estimate_with_footer(text).segments == 2
    assert estimate_with_footer(text, sender_name="Bo", business_name="Acme").segments == 2


def test_the_footer_estimate_without_names_uses_placeholders_of_a_typical_length():
    assert estimate_with_footer("Hi").units == len(
        "Hi\nThanks, YourName at YourBusiness\nReply STOP to unsubscribe"
    )
