import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghl_sms.rules.segments import (
    GSM_BASIC,
    GSM_EXTENSION,
    MULTI_PART_CAPACITY,
    SINGLE_PART_CAPACITY,
    NonGsmCharacter,
    SegmentReport,
    count_segments,
    gsm_replacement,
    gsm_suggestion,
    is_gsm7,
    utf16_length,
)
from support.data import SEGMENT_VECTORS

VECTORS: list[dict[str, Any]] = json.loads(SEGMENT_VECTORS.read_text(encoding="utf-8"))["vectors"]


def test_the_vector_file_holds_the_27_vectors():
    assert len(VECTORS) == 27
    assert len({v["id"] for v in VECTORS}) == 27


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_every_vector_matches_twilios_calculator(vector):
    report = count_segments(vector["text"])
    derived = vector["derived"]
    # What Twilio's own test asserts, field by field.
    observed = {
        "encoding": report.encoding,
        "segments": report.segments,
        "message_size_bits": report.payload_bits,
        "total_size_bits": report.total_bits,
        # numberOfCharacters: septets for GSM-7, graphemes for UCS-2.
        "twilio_number_of_characters": (
            report.septets if report.encoding == "GSM-7" else report.graphemes
        ),
        "unicode_scalars": report.code_points,
    }
    asserted = vector["asserted_by_test"]
    assert {key: observed[key] for key in asserted} == asserted
    assert (report.encoding, report.segments) == (vector["encoding"], vector["segments"])
    # And the independently derived values.
    assert {
        "per_segment": list(report.per_segment),
        "graphemes": report.graphemes,
        "utf16_units": report.utf16_units,
        "septets": report.septets,
        "non_gsm": {c.char for c in report.non_gsm_characters},
        "non_gsm_count": sum(c.count for c in report.non_gsm_characters),
    } == {
        "per_segment": derived["units_per_segment"],
        "graphemes": derived["graphemes"],
        "utf16_units": derived["utf16_code_units"],
        "septets": derived["gsm7_septets"],
        "non_gsm": set(derived["non_gsm_characters"]),
        "non_gsm_count": len(derived["non_gsm_characters"]),
    }


def test_the_gsm_tables_hold_127_basic_and_10_extension_characters():
    assert len(GSM_BASIC) == 127
    assert len(GSM_EXTENSION) == 10
    assert not GSM_BASIC & GSM_EXTENSION
    assert "\x1b" not in GSM_BASIC


@pytest.mark.parametrize("char", ["`", "ç", "á", "’", "“", "–", "…", "\u00a0", "\t", "Α"])
def test_look_alikes_that_are_not_in_the_gsm_table_force_ucs2(char):
    assert count_segments(f"Hello {char} there").encoding == "UCS-2"


def test_the_capital_c_cedilla_is_gsm_but_the_small_one_is_not():
    assert is_gsm7("Ç")
    assert not is_gsm7("ç")


def test_one_curly_quote_turns_150_characters_from_one_part_into_three():
    assert count_segments("a" * 150).segments == 1
    report = count_segments("a" * 149 + "’")
    assert (report.encoding, report.segments, report.per_segment) == ("UCS-2", 3, (67, 67, 16))


def test_an_escape_pair_on_a_part_boundary_moves_whole_to_the_next_part():
    # 306 septets "fit" two parts by division; the euro sign can't be cut, so three.
    report = count_segments("1" * 152 + "€" + "1" * 152)
    assert report.units == 306
    assert math.ceil(report.units / 153) == 2
    assert (report.segments, report.per_segment) == (3, (152, 153, 1))


def test_a_surrogate_pair_on_a_part_boundary_moves_whole_to_the_next_part():
    report = count_segments("a" * 66 + "😀" + "a" * 66)
    assert report.units == 134
    assert (report.segments, report.per_segment) == (3, (66, 67, 1))


def test_a_flag_on_a_part_boundary_is_not_split_between_its_two_code_points():
    report = count_segments("a" * 65 + "🇮🇹" + "a" * 65)
    assert (report.segments, report.per_segment) == (3, (65, 67, 2))


def test_a_letter_with_a_combining_accent_is_not_split_from_its_accent():
    report = count_segments("a" * 66 + "e\u0301" + "a" * 66)
    assert (report.segments, report.per_segment) == (3, (66, 67, 1))


def test_an_extension_character_costs_two_septets_but_one_ucs2_unit():
    assert count_segments("{").units == 2
    assert count_segments("{😀").units == 3


def test_crlf_counts_as_two_septets():
    report = count_segments("a\r\nb")
    assert (report.units, report.graphemes) == (4, 4)


def test_the_report_names_its_unit():
    assert count_segments("hi").unit == "septets"
    assert count_segments("hi 😀").unit == "utf16_units"


def test_the_report_lists_each_character_forcing_ucs2_once_with_its_code_point():
    report = count_segments("It’s “fine” ’ 😀 ç")
    assert report.non_gsm_characters == (
        NonGsmCharacter("’", ("U+2019",), 2, 2, "'"),
        NonGsmCharacter("“", ("U+201C",), 1, 5, '"'),
        NonGsmCharacter("”", ("U+201D",), 1, 10, '"'),
        NonGsmCharacter("😀", ("U+1F600",), 1, 14, None),
        NonGsmCharacter("ç", ("U+00E7",), 1, 16, None),
    )


def test_a_short_gsm_message_reports_what_is_left_in_its_only_part():
    assert count_segments("Hello {name}") == SegmentReport(
        encoding="GSM-7",
        segments=1,
        unit="septets",
        units=14,
        per_segment=(14,),
        capacity=160,
        remaining_in_last=146,
        graphemes=12,
        code_points=12,
        utf16_units=12,
        septets=14,
        non_gsm_characters=(),
    )


def test_the_empty_text_takes_no_part():
    report = count_segments("")
    assert (report.encoding, report.segments, report.units, report.remaining_in_last) == (
        "GSM-7",
        0,
        0,
        160,
    )


def test_a_grapheme_longer_than_a_part_is_cut_between_code_points():
    zalgo = "e" + "\u0301" * 100  # one grapheme of 101 units
    report = count_segments("a" * 10 + zalgo + "😀" * 40)
    assert report.encoding == "UCS-2"
    assert all(size <= 67 for size in report.per_segment)
    assert sum(report.per_segment) == report.units == 10 + 101 + 80


def test_a_lone_surrogate_counts_as_one_unit_instead_of_crashing():
    assert utf16_length("\udcff") == 1
    assert count_segments("a\udcff").units == 2


def test_gsm_replacements_cover_quotes_dashes_spaces_and_invisible_characters():
    assert {c: gsm_replacement(c) for c in "’‘“”–—…\u00a0\u200b\ufeff\t`‚‹›½＠"} == {
        "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...",
        "\u00a0": " ", "\u200b": "", "\ufeff": "", "\t": " ", "`": "'", "‚": ",",
        "‹": "<", "›": ">", "½": "1/2", "＠": "@",
    }  # fmt: skip


@pytest.mark.parametrize("char", ["ç", "á", "😀", "Α", "中", "ｰ"])
def test_letters_and_emoji_have_no_gsm_replacement(char):
    assert gsm_replacement(char) is None


def test_replacing_a_curly_quote_saves_two_parts():
    suggestion = gsm_suggestion("a" * 149 + "’")
    assert suggestion.text == "a" * 149 + "'"
    assert (suggestion.becomes_gsm, suggestion.segments_before, suggestion.segments_after) == (
        True,
        3,
        1,
    )
    assert suggestion.segments_saved == 2
    assert suggestion.to_dict()["replacements"] == [
        {"original": "’", "replacement": "'", "count": 1}
    ]


def test_replacing_is_pointless_when_an_emoji_stays():
    suggestion = gsm_suggestion("a" * 149 + "’😀")
    assert not suggestion.becomes_gsm
    assert suggestion.unreplaceable == ("😀",)
    assert suggestion.segments_saved == 0


def test_invisible_characters_are_dropped_by_the_suggestion():
    suggestion = gsm_suggestion("Hi\u200b there\ufeff")
    assert (suggestion.text, suggestion.becomes_gsm) == ("Hi there", True)


def test_a_gsm_text_needs_no_suggestion():
    suggestion = gsm_suggestion("plain")
    assert (suggestion.text, suggestion.replacements, suggestion.segments_saved) == (
        "plain",
        (),
        0,
    )


def test_the_report_serialises_to_a_stable_dict():
    data = count_segments("Hi ’").to_dict()
    assert list(data) == [
        "encoding", "segments", "unit", "units", "per_segment", "capacity",
        "remaining_in_last", "graphemes", "code_points", "utf16_units", "septets",
        "non_gsm_characters",
    ]  # fmt: skip
    assert json.loads(json.dumps(data)) == data


# --- properties -------------------------------------------------------------------------

_INTERESTING = "aZ0 .\n\r{€]^’“—…\u00a0\u200bçá😀🇮🇹\u0301\u200d👍🏽中"
texts = st.text(
    alphabet=st.one_of(st.sampled_from(_INTERESTING), st.characters(exclude_categories=["Cs"])),
    max_size=400,
)
gsm_texts = st.text(alphabet=sorted(GSM_BASIC | GSM_EXTENSION), max_size=400)


@given(texts)
def test_no_part_ever_exceeds_its_capacity(text):
    report = count_segments(text)
    limit = (SINGLE_PART_CAPACITY if report.segments <= 1 else MULTI_PART_CAPACITY)[report.encoding]
    assert report.capacity == limit
    assert all(0 < size <= limit for size in report.per_segment)
    assert sum(report.per_segment) == report.units
    assert report.remaining_in_last == limit - (report.per_segment or (0,))[-1]


@given(texts)
def test_the_count_is_never_below_the_naive_division(text):
    report = count_segments(text)
    single = SINGLE_PART_CAPACITY[report.encoding]
    per_part = single if report.units <= single else MULTI_PART_CAPACITY[report.encoding]
    assert report.segments >= math.ceil(report.units / per_part)


@given(gsm_texts)
def test_gsm_only_text_is_never_reported_as_ucs2(text):
    report = count_segments(text)
    assert report.encoding == "GSM-7"
    assert report.non_gsm_characters == ()
    assert report.septets == report.units == len(text) + sum(c in GSM_EXTENSION for c in text)


@given(texts, texts)
def test_appending_text_never_reduces_the_number_of_parts(a, b):
    assert count_segments(a + b).segments >= count_segments(a).segments


@given(texts, texts)
def test_one_ucs2_character_anywhere_makes_the_whole_message_ucs2(a, b):
    if "UCS-2" in (count_segments(a).encoding, count_segments(b).encoding):
        assert count_segments(a + b).encoding == "UCS-2"


@given(texts)
def test_ucs2_units_are_the_utf16_length(text):
    report = count_segments(text)
    if report.encoding == "UCS-2":
        assert report.units == report.utf16_units == len(text.encode("utf-16-le")) // 2


@given(texts)
def test_a_suggestion_that_becomes_gsm_is_gsm(text):
    suggestion = gsm_suggestion(text)
    assert suggestion.becomes_gsm == is_gsm7(suggestion.text)
    if not suggestion.becomes_gsm:
        assert suggestion.segments_saved == 0


def test_a_suggestion_can_cost_parts_when_an_ellipsis_becomes_three_dots():
    suggestion = gsm_suggestion("…" * 70)
    assert (suggestion.segments_before, suggestion.segments_after) == (1, 2)
    assert suggestion.segments_saved == -1
