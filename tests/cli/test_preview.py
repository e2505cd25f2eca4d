import json

import pytest
from click.testing import CliRunner

from ghl_sms.cli import cli


def preview(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["preview", *args], input=stdin, env={"NO_COLOR": "1"})


def test_json_output_is_a_stable_object():
    result = preview("Hi {name}", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "encoding": "GSM-7",
        "segments": 1,
        "characters": 11,  # "{" and "}" cost two septets each
        "unit": "septets",
        "per_segment": [11],
        "capacity_per_segment": 160,
        "remaining_in_last": 149,
        "graphemes": 9,
        "length": 9,
        "max_length": 1600,
        "too_long": False,
        "non_gsm_characters": [],
        "if_replaced": None,
    }


def test_json_lists_the_characters_that_force_ucs2_and_what_replacing_them_saves():
    result = preview("a" * 149 + "’", "--json")
    data = json.loads(result.stdout)
    assert (data["encoding"], data["segments"], data["characters"], data["unit"]) == (
        "UCS-2",
        3,
        150,
        "utf16_units",
    )
    assert data["per_segment"] == [67, 67, 16]
    assert data["non_gsm_characters"] == [
        {
            "char": "’",
            "code_points": ["U+2019"],
            "name": "RIGHT SINGLE QUOTATION MARK",
            "count": 1,
            "replacement": "'",
        }
    ]
    assert data["if_replaced"] == {"becomes_gsm": True, "segments": 1, "segments_saved": 2}


def test_json_says_when_the_text_is_over_the_limit():
    data = json.loads(preview("a" * 1601, "--json").stdout)
    assert (data["too_long"], data["segments"]) == (True, 11)


def test_the_table_shows_encoding_parts_units_per_part_and_the_culprits():
    result = preview("It’s ready " + "a" * 150)
    assert result.exit_code == 0
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[:4] == [
        "Encoding  UCS-2 (forced by 1 character)",
        "Parts     3",
        "Used      161 UTF-16 units (67 + 67 + 27); 40 left in the last part of 67",
        "Length    161 of 1,600 characters",
    ]
    assert "’     U+2019      RIGHT SINGLE QUOTATION MARK  1      '" in lines
    assert lines[-1] == "Replacing them makes it GSM-7: 2 parts (saves 1 part)."


def test_the_table_says_when_replacing_cannot_help():
    result = preview("It’s ready 😀")
    assert result.stdout.splitlines()[-1] == (
        "It stays UCS-2 whatever is replaced: 😀 has no GSM-7 equivalent."
    )


def test_a_gsm_text_has_no_character_table():
    result = preview("Plain text")
    assert [line.rstrip() for line in result.stdout.splitlines()] == [
        "Encoding  GSM-7",
        "Parts     1",
        "Used      10 GSM-7 septets; 150 left of 160",
        "Length    10 of 1,600 characters",
    ]


def test_invisible_characters_are_named_not_printed():
    result = preview("a\u00a0b\u200bc")
    assert "(space)      U+00A0      NO-BREAK SPACE    1      (space)" in result.stdout
    assert "(invisible)  U+200B      ZERO WIDTH SPACE  1      (remove)" in result.stdout


def test_a_dash_reads_the_text_from_standard_input():
    data = json.loads(preview("-", "--json", stdin="Hello\n").stdout)
    assert (data["characters"], data["segments"]) == (5, 1)


@pytest.mark.parametrize(("args", "stdin"), [([""], None), (["   "], None), (["-"], "\n")])
def test_an_empty_text_is_a_one_line_error_with_exit_code_2(args, stdin):
    result = preview(*args, stdin=stdin)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: The message is empty; give the text to preview.\n"
    as_json = preview(*args, "--json", stdin=stdin)
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["error"]["message"].startswith("The message is empty")


def test_text_that_is_not_utf8_is_a_one_line_error():
    result = preview("caf\udce9")
    assert (result.exit_code, result.stderr) == (2, "Error: The text is not valid UTF-8.\n")


def test_preview_needs_no_credentials():
    result = CliRunner().invoke(cli, ["preview", "hi", "--json"], env={
        "GHL_TOKEN": None, "GHL_LOCATION_ID": None, "GHL_PRIVATE_TOKEN": None,
    })  # fmt: skip
    assert result.exit_code == 0


def test_preview_has_help_with_an_example():
    result = CliRunner().invoke(cli, ["preview", "--help"])
    assert result.exit_code == 0
    assert "Example: ghl-sms preview" in result.stdout
