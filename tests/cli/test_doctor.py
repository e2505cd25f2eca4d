"""`ghl-sms doctor`: each check against the sandbox, and that it never changes anything."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import GhlClient, RetryPolicy
from ghl_sms.mcp_server.doctor import SCOPES, Check, check_ledger, diagnose
from ghl_sms.sandbox import ALL_SCOPES, Sandbox
from support.cli import harness
from support.stack import WEEKDAY_NOON

TEXTING_SCOPES = [probe.scope for probe in SCOPES]


@asynccontextmanager
async def client_for(
    sb: Sandbox, token: str, location_id: str | None = None
) -> AsyncIterator[GhlClient]:
    client = GhlClient(
        token=token,
        location_id=location_id or sb.location_id,
        base_url=sb.base_url,
        transport=sb.transport(),
        clock=sb.clock,
        rng=random.Random(0),
        retry=RetryPolicy(max_retries=0),
    )
    async with client:
        yield client


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def counts(sb: Sandbox) -> tuple[int, ...]:
    conn = sb.store.conn
    return tuple(
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("messages", "contacts", "conversations")
    )


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(clock=FakeClock(WEEKDAY_NOON))


def test_the_probed_scopes_are_the_ones_texting_needs() -> None:
    assert TEXTING_SCOPES == [
        "conversations/message.write",
        "conversations/message.readonly",
        "conversations.readonly",
        "conversations.write",
        "contacts.readonly",
        "contacts.write",
        "phonenumbers.read",
        "locations.readonly",
    ]
    assert set(TEXTING_SCOPES) <= set(ALL_SCOPES)


@pytest.mark.anyio
async def test_a_complete_setup_passes_every_check_and_changes_nothing(sb: Sandbox) -> None:
    before = counts(sb)
    async with client_for(sb, sb.token) as client:
        checks = await diagnose(client)
    assert [(c.name, c.status) for c in checks] == [
        ("token", "ok"),
        ("location", "ok"),
        *[(f"scope {s}", "ok") for s in TEXTING_SCOPES],
        ("sending number", "ok"),
    ]
    found = by_name(checks)
    assert found["location"].detail == "Sandbox Dental (demo) (America/Los_Angeles)"
    assert found["sending number"].detail.startswith('default +14155550190 "Front desk"')
    assert counts(sb) == before


@pytest.mark.anyio
@pytest.mark.parametrize("missing", TEXTING_SCOPES)
async def test_each_missing_scope_is_named_with_what_to_enable_in_ghl(
    sb: Sandbox, missing: str
) -> None:
    token = sb.create_token(sb.location_id, [s for s in ALL_SCOPES if s != missing])
    async with client_for(sb, token) as client:
        checks = by_name(await diagnose(client))
    assert checks["token"].status == "ok"
    failed = [name for name, c in checks.items() if c.status == "fail"]
    assert failed == [f"scope {missing}"]
    fix = checks[f"scope {missing}"].fix
    assert fix is not None and f"enable {missing}" in fix and "Private Integrations" in fix


@pytest.mark.anyio
async def test_a_token_without_texting_scopes_is_accepted_but_every_scope_fails(
    sb: Sandbox,
) -> None:
    async with client_for(sb, sb.create_token(sb.location_id, ["numberpools.read"])) as client:
        checks = by_name(await diagnose(client))
    assert checks["token"].status == "ok"
    assert all(checks[f"scope {s}"].status == "fail" for s in TEXTING_SCOPES)
    assert checks["sending number"].status == "skip"


@pytest.mark.anyio
async def test_a_rejected_token_says_how_to_make_one(sb: Sandbox) -> None:
    async with client_for(sb, "pit-00000000-0000-4000-8000-00000000dead") as client:
        checks = await diagnose(client)
    assert [(c.name, c.status) for c in checks] == [("token", "fail")]
    assert "Private Integrations" in (checks[0].fix or "")


@pytest.mark.anyio
async def test_a_token_of_another_location_fails_the_location_check(sb: Sandbox) -> None:
    other = sb.create_location(name="Other clinic", numbers=["+14155550177"])
    async with client_for(sb, sb.create_token(other)) as client:
        checks = by_name(await diagnose(client))
    assert checks["location"].status == "fail"
    assert "GHL_LOCATION_ID" in (checks["location"].fix or "")


@pytest.mark.anyio
async def test_a_location_without_an_sms_number_fails_and_says_where_to_get_one(
    sb: Sandbox,
) -> None:
    bare = sb.create_location(name="No numbers", numbers=[])
    async with client_for(sb, sb.create_token(bare), location_id=bare) as client:
        checks = by_name(await diagnose(client))
    assert checks["sending number"].status == "fail"
    assert "Phone Numbers" in (checks["sending number"].fix or "")


@pytest.mark.anyio
async def test_an_unreachable_ghl_is_one_failure_not_eight(sb: Sandbox) -> None:
    sb.inject_fault("hang", count=100)
    async with client_for(sb, sb.token) as client:
        checks = await diagnose(client)
    assert [(c.name, c.status) for c in checks] == [("connection", "fail")]


def test_a_ledger_that_cannot_be_written_fails_with_what_to_change(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    check = check_ledger(blocker / "ledger.db", FakeClock())
    assert check.status == "fail" and "GHL_SMS_LEDGER" in (check.fix or "")
    assert check_ledger(tmp_path / "data" / "ledger.db", FakeClock()).status == "ok"


def test_doctor_against_the_sandbox_prints_every_check_and_exits_0(tmp_path: Path) -> None:
    result = harness(tmp_path).run("doctor", "--sandbox")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ghl-sms doctor: location sandboxDemoLocation1 at the embedded sandbox"
    assert sum(line.startswith("  ok ") for line in lines) == 12
    assert lines[-1].startswith("Ready")


def test_doctor_json_lists_the_checks(tmp_path: Path) -> None:
    result = harness(tmp_path).run("doctor", "--sandbox", "--json")
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert [c["check"] for c in data["checks"]][-1] == "ledger"


def test_doctor_without_credentials_fails_naming_the_variables(tmp_path: Path) -> None:
    result = harness(tmp_path).run("doctor")
    assert result.exit_code == 1
    assert "GHL_TOKEN and GHL_LOCATION_ID not set" in result.stdout
