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


AVA = Contact.model_validate(
    {"id": "c1", "firstName": "Ava", "lastName": "Reed", "phone": "+14155550100",
     "email": "ava@example.com", "customFields": [{"id": "apptDate", "value": "May 2"}]}
)  # fmt: skip


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hi {{contact.first_name}}!", "Hi Ava!"),
        ("Hi {{ contact.first_name }}!", "Hi Ava!"),
        ("{{contact.name}} <{{contact.email}}> {{contact.phone}}", "Ava Reed <ava@example.com> "
         "+14155550100"),
        ("{{contact.last_name}}, {{contact.firstName}}", "Reed, Ava"),
        ("See you {{contact.apptDate}}", "See you May 2"),
        ("Hi {{contact.first_name}} and {first_name|there}", "Hi Ava and Ava"),
    ],
)  # fmt: skip
def test_ghl_merge_tags_fill_like_our_fields(source: str, expected: str) -> None:
    assert Template.parse(source).render(contact_fields(AVA)) == expected


@pytest.mark.parametrize(
    "source",
    ['Hi {{contact.first_name | default: "there"}}!', "Hi {{contact.first_name|there}}!",
     "Hi {{ contact.first_name | default: 'there' }}!"],
)  # fmt: skip
def test_a_ghl_tag_with_a_default_falls_back_like_ours(source: str) -> None:
    assert Template.parse(source).render({}) == "Hi there!"


def test_an_unfilled_ghl_tag_is_refused_never_rendered_as_written() -> None:
    template = Template.parse("Hi {{contact.first_name}}, from {{location.name}}")
    with pytest.raises(MissingFields) as info:
        template.render({"last_name": "Reed"})
    assert info.value.names == ("first_name", "location.name")
    assert [f.placeholder for f in template.unfilled({})] == [
        "{{contact.first_name}}",
        "{{location.name}}",
    ]
    assert template.render({"location.name": "Bright Smiles", "first_name": "Ava"}) == (
        "Hi Ava, from Bright Smiles"
    )


def test_double_braces_that_are_not_ghl_tags_stay_literal_braces() -> None:
    template = Template.parse("{{code}} and {{custom.x}} for {{contact.first_name}}")
    assert template.render({"first_name": "Ava"}) == "{code} and {custom.x} for Ava"


def test_display_keeps_an_unfilled_ghl_tag_as_written() -> None:
    template = Template.parse("Hi {{ contact.first_name }}, {code}")
    assert template.display({"code": "A1"}) == "Hi {{ contact.first_name }}, A1"
    assert template.display({"first_name": "Ava", "code": "A1"}) == "Hi Ava, A1"
