import sqlite3
from pathlib import Path

import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import DEMO_LOCATION_ID, DEMO_TOKEN, SEED_CONTACTS, Sandbox
from ghl_sms.sandbox.migrations import migrate
from ghl_sms.sandbox.store import SandboxInUseError

TRAITS = {
    "reachable",
    "sms_dnd",
    "email_dnd",
    "no_phone",
    "landline",
    "invalid",
    "opted_out",
    "quiet_hours_fl",
    "quiet_hours_tx",
    "international",
    "unreachable",
    "filtered",
    "no_mms",
}


def test_the_seed_has_stable_ids_a_token_and_two_numbers(sb: Sandbox) -> None:
    assert (sb.location_id, sb.token) == ("sandboxDemoLocation1", DEMO_TOKEN)
    assert sb.location_id == DEMO_LOCATION_ID
    assert set(sb.seed_ids) == TRAITS | {"default_number", "unregistered_number"}
    assert sb.seed_ids["reachable"] == "sbxCtReachable000001"
    for trait in TRAITS:
        contact_id = sb.seed_ids[trait]
        assert len(contact_id) == 20 and contact_id.isalnum()
    assert (sb.seed_ids["default_number"], sb.seed_ids["unregistered_number"]) == (
        "+14155550190",
        "+14155550191",
    )


def test_seed_contacts_have_human_names_and_their_traits(sb: Sandbox) -> None:
    contacts = {spec.trait: sb.contact(spec.id) for spec in SEED_CONTACTS}
    assert all(c is not None and c["name"] for c in contacts.values())
    assert contacts["reachable"] is not None and contacts["reachable"]["name"] == "Ava Reed"
    assert contacts["no_phone"] is not None and "phone" not in contacts["no_phone"]
    sms_dnd, email_dnd = contacts["sms_dnd"], contacts["email_dnd"]
    assert sms_dnd is not None and sms_dnd["dndSettings"]["SMS"]["status"] == "active"
    assert email_dnd is not None and list(email_dnd["dndSettings"]) == ["Email"]
    florida, uk = contacts["quiet_hours_fl"], contacts["international"]
    assert florida is not None and (florida["state"], florida["phone"][:5]) == ("FL", "+1305")
    assert uk is not None and uk["phone"].startswith("+44")


def test_ids_are_deterministic_across_fresh_sandboxes() -> None:
    def first_ids() -> tuple[str, str]:
        with Sandbox(clock=FakeClock()) as sb:
            location = sb.create_location(name="x")
            token = sb.create_token(location)
            return location, token

    assert first_ids() == first_ids()


@pytest.mark.anyio
async def test_a_file_database_keeps_conversations_keys_and_counters_across_runs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sandbox.db"
    async with Sandbox(db_path=db, clock=FakeClock()) as first, first.client() as http:
        sent = (
            await http.post(
                "/conversations/messages",
                json={"type": "SMS", "contactId": first.seed_ids["reachable"], "message": "Hi"},
            )
        ).json()
        keys = first.webhook_public_keys()
    async with Sandbox(db_path=db, clock=FakeClock()) as second, second.client() as http:
        again = (
            await http.post(
                "/conversations/messages",
                json={"type": "SMS", "contactId": second.seed_ids["reachable"], "message": "Hi"},
            )
        ).json()
        listed = (await http.get(f"/conversations/{sent['conversationId']}/messages")).json()
        assert second.webhook_public_keys() == keys
    assert again["conversationId"] == sent["conversationId"]
    assert again["messageId"] != sent["messageId"]
    assert len(listed["messages"]["messages"]) == 2


def test_a_second_sandbox_on_the_same_file_is_refused(tmp_path: Path) -> None:
    with Sandbox(db_path=tmp_path / "s.db"), pytest.raises(SandboxInUseError):
        Sandbox(db_path=tmp_path / "s.db")


def test_migrations_build_the_expected_tables_once() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    assert migrate(conn) == ["m001_initial", "m002_agency_oauth"]
    assert migrate(conn) == []
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {
        "_migrations",
        "meta",
        "locations",
        "tokens",
        "numbers",
        "contacts",
        "conversations",
        "messages",
        "media",
        "companies",
        "oauth_apps",
        "app_installs",
        "oauth_codes",
        "oauth_tokens",
    }
    columns = [row[1] for row in conn.execute("PRAGMA table_info(messages)")]
    assert columns == [
        "seq",
        "id",
        "location_id",
        "conversation_id",
        "contact_id",
        "direction",
        "body",
        "attachments",
        "status",
        "error_code",
        "planned_status",
        "planned_code",
        "from_number",
        "to_number",
        "source",
        "date_added",
        "scheduled_at",
        "next_at",
    ]


def test_an_unseeded_sandbox_is_empty() -> None:
    with Sandbox(seed=False) as sb:
        assert sb.state()["locations"] == []
        assert sb.contact(SEED_CONTACTS[0].id) is None


@pytest.mark.anyio
async def test_contacts_made_in_python_are_visible_to_the_api(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    contact = sb.create_contact({"firstName": "Nia", "lastName": "Owen", "phone": "415 555 0130"})
    fetched = (await http.get(f"/contacts/{contact['id']}")).json()["contact"]
    assert (fetched["name"], fetched["phone"]) == ("Nia Owen", "+14155550130")
