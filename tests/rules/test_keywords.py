import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghl_sms.rules.keywords import KeywordKind, classify_keyword, normalize_reply

OPT_OUT, OPT_IN, HELP = KeywordKind.OPT_OUT, KeywordKind.OPT_IN, KeywordKind.HELP

# The carriers' and Twilio's defaults, and the FCC's per-se revocation words.
STANDARD_OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                    "OPTOUT", "OPT OUT"]  # fmt: skip


@pytest.mark.parametrize("word", STANDARD_OPT_OUT)
def test_every_standard_opt_out_keyword_opts_out(word):
    assert classify_keyword(word) is OPT_OUT


@pytest.mark.parametrize("word", ["START", "UNSTOP", "YES"])
def test_every_standard_opt_in_keyword_opts_in(word):
    assert classify_keyword(word) is OPT_IN


@pytest.mark.parametrize("word", ["HELP", "INFO"])
def test_help_and_info_ask_for_help(word):
    assert classify_keyword(word) is HELP


@pytest.mark.parametrize(
    "body",
    ["stop", "Stop.", " STOP ", "stop!!!", "Opt-Out", "opt out", "opt-out", "STOP ALL",
     "Stop 🛑", "ＳＴＯＰ", "S.T.O.P.", "\u200bSTOP", "Unsubscribe\n", "end.", "«quit»"],
)  # fmt: skip
def test_keywords_tolerate_case_spacing_punctuation_and_emoji(body):
    assert classify_keyword(body) is OPT_OUT


@pytest.mark.parametrize(
    "body",
    ["Please stop", "pls stop!!", "STOP PLEASE", "stop now", "you can stop now", "make it stop",
     "please unsubscribe", "How do I unsubscribe?", "I want to opt out", "opt me out please",
     "I revoke my consent", "stop texting me", "quit texting me", "don't text me again",
     "Do not contact me", "remove me from your list", "take me off this list",
     "wrong number", "leave me alone", "no more texts", "Cancel my subscription",
     "no más", "No mas mensajes", "alto", "parar", "arret", "REMOVE", "STOP STOP"],
)  # fmt: skip
def test_a_reply_a_reasonable_person_reads_as_stop_texting_me_opts_out(body):
    assert classify_keyword(body) is OPT_OUT


@pytest.mark.parametrize(
    "body",
    ["please stop by the office", "Stop by tomorrow?", "cancel my appointment",
     "The end of the month works", "yes please", "I'll be there", "thank you", "ok", "",
     "I'm at the bus stop", "Next stop"],
)  # fmt: skip
def test_a_keyword_inside_an_unrelated_sentence_does_not_opt_out(body):
    assert classify_keyword(body) is not OPT_OUT


def test_opting_back_in_needs_the_bare_keyword():
    assert classify_keyword("Start!") is OPT_IN
    assert classify_keyword("yes please") is None
    assert classify_keyword("start stop") is OPT_OUT


def test_help_tolerates_politeness():
    assert classify_keyword("help please") is HELP
    assert classify_keyword("Info?") is HELP


def test_help_never_opts_out():
    assert classify_keyword("HELP") is not OPT_OUT


def test_normalising_folds_case_accents_punctuation_and_hyphens():
    assert normalize_reply("  No   MÁS!! ") == "no mas"
    assert normalize_reply("Opt-Out.") == "opt out"
    assert normalize_reply("s t o p") == "stop"
    assert normalize_reply("🛑🛑") == ""


@given(st.sampled_from(STANDARD_OPT_OUT), st.text(alphabet=" .!?-\t\n🛑👍", max_size=5),
       st.text(alphabet=" .!?-\t\n🛑👍", max_size=5), st.booleans())  # fmt: skip
def test_any_decoration_of_a_standard_keyword_still_opts_out(word, before, after, lower):
    body = before + (word.lower() if lower else word) + after
    assert classify_keyword(body) is OPT_OUT
