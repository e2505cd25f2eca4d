"""Merge-field templates: fields, fallbacks, escapes and contact values."""

from __future__ import annotations

import pytest

from ghl_sms.ghl import Contact
from ghl_sms.ops.bulk.template import (
    MissingFields,
    Template,
    TemplateError,
    contact_fields,
    merge_fields,
    normalize_name,
)


def test_fields_are_filled_from_the_values() -> None:
    template = Template.parse("Hi {first_name}, see you {Appointment Time}.")
    assert template.render({"first_name": "Ava", "appointment_time": "3pm"}) == (
        "Hi Ava, see you 3pm."
    )


def test_a_missing_field_uses_its_fallback_and_an_empty_fallback_leaves_it_out() -> None:
    template = Template.parse("Hi {first_name|there}{suffix|}!")
    assert template.render({}) == "Hi there!"
    assert template.render({"first_name": "", "suffix": ""}) == "Hi there!"


def test_a_missing_field_without_fallback_is_refused_naming_every_such_field() -> None:
    template = Template.parse("{first_name} {last_name} {city|here}")
    with pytest.raises(MissingFields) as info:
        template.render({"city": "Austin"})
    assert info.value.names == ("first_name", "last_name")
    assert template.missing({"first_name": "Ava"}) == ("last_name",)


def test_double_braces_are_literal_braces() -> None:
    assert Template.parse("{{code}} is {code}").render({"code": "42"}) == "{code} is 42"


@pytest.mark.parametrize("source", ["Hi {first_name", "Hi }", "Hi {}", "Hi {1x}"])
def test_malformed_templates_are_refused(source: str) -> None:
    with pytest.raises(TemplateError):
        Template.parse(source)


@pytest.mark.parametrize("name", ["First Name", "first-name", "firstName", " FIRST_NAME "])
def test_column_names_and_camel_case_read_as_snake_case(name: str) -> None:
    assert normalize_name(name) == "first_name"


def test_display_shows_the_fields_only_the_contact_can_fill_as_written() -> None:
    template = Template.parse("Hi {first_name|there}, {code} at {{desk}}")
    assert template.display({"code": "A1"}) == "Hi {first_name|there}, A1 at {{desk}}"


def test_contact_values_and_custom_fields_fill_the_template_and_row_values_win() -> None:
    contact = Contact.model_validate(
        {
            "id": "c1",
            "firstName": "Ava",
            "lastName": "Reed",
            "customFields": [{"id": "apptDate", "value": "May 2"}],
        }
    )
    assert contact_fields(contact)["custom.appt_date"] == "May 2"
    values = merge_fields({"first_name": "Avery", "last_name": ""}, contact)
    template = Template.parse("{first_name} {last_name}: {custom.apptDate} / {apptDate}")
    assert template.render(values) == "Avery Reed: May 2 / May 2"
