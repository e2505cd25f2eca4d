"""`ghl-sms bulk send --location A,B --tag T`: one template fanned out to several
sub-accounts of the sandbox agency (logged in with `ghl-sms login --sandbox`), a campaign
per location sourced from the tag there, each texted from its own numbers through its
own location token, exactly once; campaigns independent; opt-outs keyed by location."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result

from ghl_sms.cli import cli
from ghl_sms.sandbox import Sandbox
from support.cli import CliHarness, harness

L1, L2, L3 = "sandboxDemoLocation1", "sandboxDemoLocation2", "sandboxDemoLocation3"
NUMBERS = {
    L2: {"+13125550190", "+13125550192"},
    L3: {"+17205550190", "+17205550192"},
}
TAG = "spring-promo"
SHARED = "+13125552099"  # one person, a contact in both L2 and L3
TEMPLATE = "Hi {first_name|there}, spring classes start Monday. Reply STOP to opt out"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    h = harness(tmp_path)
    login = h.run("login", "--sandbox")
    assert login.exit_code == 0, login.output + login.stderr
    return h


async def _tag(sandbox: Sandbox, location_id: str, phones: Sequence[str]) -> list[str]:
    """Contacts with TAG in one location, made through the sandbox's API with a token of
    that location (the seed tags nobody with it)."""
    ids = []
    async with sandbox.client(token=sandbox.create_token(location_id)) as api:
        for i, phone in enumerate(phones):
            body = {"locationId": location_id, "firstName": f"Member{i}", "phone": phone}
            response = await api.post("/contacts/", json=body | {"tags": [TAG]})
            assert response.status_code in (200, 201), response.text
            ids.append(response.json()["contact"]["id"])
    return ids


def _tag_contacts(h: CliHarness, location_id: str, phones: Sequence[str]) -> list[str]:
    with h.sandbox() as sandbox:
        return anyio.run(_tag, sandbox, location_id, phones)


def _messages(sandbox: Sandbox) -> list[tuple[str, str, str, str]]:
    rows = sandbox.store.conn.execute(
        "SELECT location_id, contact_id, from_number, to_number FROM messages "
        "WHERE direction = 'outbound' ORDER BY seq"
    ).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def _outbound(h: CliHarness) -> list[tuple[str, str, str, str]]:
    """(location, contact, from, to) of every text the sandbox holds, in order: what GHL
    has, whatever the ledger believes."""
    with Sandbox(db_path=h.tmp / "sandbox.db", clock=h.clock) as sandbox:
        return _messages(sandbox)


def _json(result: Result) -> Any:
    assert result.stdout, result.output + result.stderr
    return json.loads(result.stdout)


def _counts(status: dict[str, Any]) -> dict[str, int]:
    return {state: n for state, n in status["counts"].items() if n}


def _send(h: CliHarness, *args: str, template: str = TEMPLATE) -> Result:
    return h.run("bulk", "send", "--sandbox", "--tag", TAG, *args, template)


def test_one_command_texts_each_locations_tag_from_its_own_numbers_exactly_once(
    h: CliHarness,
) -> None:
    two = _tag_contacts(h, L2, ["+13125552001", "+13125552002", SHARED])
    three = _tag_contacts(h, L3, ["+17205552001", SHARED])
    result = _send(h, "--location", f"{L2},{L3}", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    body = _json(result)
    campaigns = {c["campaign"]["location_id"]: c for c in body["campaigns"]}
    assert set(campaigns) == {L2, L3}
    assert campaigns[L2]["campaign"]["id"] != campaigns[L3]["campaign"]["id"]
    for location, ids in ((L2, two), (L3, three)):
        assert campaigns[location]["campaign"]["state"] == "completed"
        assert campaigns[location]["counts"].get("sent") == len(ids)
    sent = _outbound(h)
    # Each contact texted once, in its own location, from one of that location's numbers.
    assert Counter(contact for _, contact, _, _ in sent) == Counter(two + three)
    for location, contact, sender, _ in sent:
        assert contact in (two if location == L2 else three)
        assert sender in NUMBERS[location], (location, sender)
    # The one person in both sub-accounts got one text from each.
    assert sorted(loc for loc, _, _, to in sent if to == SHARED) == [L2, L3]


def test_repeated_location_options_and_a_progress_line_per_campaign(h: CliHarness) -> None:
    _tag_contacts(h, L2, ["+13125552001"])
    _tag_contacts(h, L3, ["+17205552001"])
    result = _send(h, "--location", L2, "--location", L3)
    assert result.exit_code == 0, result.output + result.stderr
    # One "Campaign ... for LOCATION" line each on stderr, and a status each on stdout.
    assert result.stderr.count("Campaign cmp_") == 2
    assert L2 in result.stderr and L3 in result.stderr
    assert result.stdout.count(": completed") == 2
    assert len(_outbound(h)) == 2


def test_an_empty_tag_in_one_location_names_it_and_creates_nothing(h: CliHarness) -> None:
    _tag_contacts(h, L2, ["+13125552001"])
    result = _send(h, "--location", f"{L2},{L3}")
    assert result.exit_code == 2, result.output
    assert L3 in result.stderr and "tag" in result.stderr and L2 + ":" not in result.stderr
    assert "No campaign was created" in result.stderr
    assert h.json("bulk", "status", "--sandbox") == []
    assert h.json("bulk", "status", "--sandbox", "--location", L2) == []
    assert _outbound(h) == []


def test_a_location_the_app_is_not_installed_on_is_named_and_nothing_is_created(
    h: CliHarness,
) -> None:
    _tag_contacts(h, L2, ["+13125552001"])
    result = _send(h, "--location", f"{L2},sandboxDemoLocation4")
    assert result.exit_code == 2, result.output
    assert "sandboxDemoLocation4" in result.stderr and "installed" in result.stderr
    assert h.json("bulk", "status", "--sandbox", "--location", L2) == []
    assert _outbound(h) == []


def test_a_dry_run_previews_each_location_and_sends_nothing(h: CliHarness) -> None:
    _tag_contacts(h, L2, ["+13125552001", "+13125552002"])
    _tag_contacts(h, L3, ["+17205552001"])
    body = _json(_send(h, "--location", f"{L2},{L3}", "--dry-run", "--json"))
    assert body["dry_run"] is True
    assert [(p["location_id"], p["would_send"]) for p in body["locations"]] == [(L2, 2), (L3, 1)]
    words = _send(h, "--location", f"{L2},{L3}", "--dry-run")
    assert words.exit_code == 0 and words.stdout.count("Nothing sent") == 2
    assert _outbound(h) == []
    assert h.json("bulk", "status", "--sandbox", "--location", L2) == []


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (["--contacts", "a,b"], "A list belongs to one sub-account"),
        (["--from", "+13125550190", "--tag", TAG], "--from names one"),
    ],
)
def test_a_list_or_a_sending_number_with_several_locations_is_a_usage_error(
    h: CliHarness, source: list[str], words: str
) -> None:
    result = h.run("bulk", "send", "--sandbox", "--location", f"{L2},{L3}", *source, "Hi")
    assert result.exit_code == 2 and words in result.stderr, result.output


def test_other_commands_take_one_location(h: CliHarness) -> None:
    result = h.run("numbers", "--sandbox", "--location", f"{L2},{L3}")
    assert result.exit_code == 2 and "one sub-account" in result.stderr


def test_campaigns_are_independent_pause_one_and_the_other_goes_on(h: CliHarness) -> None:
    two = _tag_contacts(h, L2, ["+13125552001", "+13125552002"])
    three = _tag_contacts(h, L3, ["+17205552001", "+17205552002"])
    # One a day: each sends its first and waits for tomorrow.
    first = _json(_send(h, "--location", f"{L2},{L3}", "--per-day", "1", "--no-wait", "--json"))
    ids = {c["campaign"]["location_id"]: c["campaign"]["id"] for c in first["campaigns"]}
    assert all(c["counts"].get("sent") == 1 for c in first["campaigns"])
    paused = h.json("bulk", "pause", "--sandbox", ids[L2])
    assert paused["campaign"]["state"] == "paused"
    h.clock.advance(86_400)
    # L3's campaign goes on to the end by its id alone (its location token is resolved).
    done = h.json("bulk", "resume", "--sandbox", ids[L3])
    assert done["campaign"]["state"] == "completed" and done["counts"]["sent"] == 2
    assert h.json("bulk", "status", "--sandbox", ids[L2])["counts"].get("sent") == 1
    by_location = Counter(loc for loc, _, _, _ in _outbound(h))
    assert by_location == {L2: 1, L3: 2}
    # Resumed, the paused one finishes: still one text per person.
    assert h.json("bulk", "resume", "--sandbox", ids[L2])["campaign"]["state"] == "completed"
    assert Counter(c for _, c, _, _ in _outbound(h)) == Counter(two + three)


def test_an_opt_out_in_one_sub_account_does_not_block_the_same_number_in_another(
    h: CliHarness,
) -> None:
    _tag_contacts(h, L2, ["+13125552001", SHARED])
    (in_three,) = _tag_contacts(h, L3, [SHARED])
    added = h.run("optouts", "add", SHARED, "--sandbox", "--location", L2, "--reason", "asked")
    assert added.exit_code == 0, added.output + added.stderr
    body = _json(_send(h, "--location", f"{L2},{L3}", "--json"))
    campaigns = {c["campaign"]["location_id"]: c for c in body["campaigns"]}
    assert _counts(campaigns[L2]) == {"sent": 1, "skipped": 1}
    assert [r["code"] for r in campaigns[L2]["reasons"]] == ["opted_out"]
    assert _counts(campaigns[L3]) == {"sent": 1}
    to_shared = [(loc, contact) for loc, contact, _, to in _outbound(h) if to == SHARED]
    assert to_shared == [(L3, in_three)]
    # And in L2 the number stays blocked for a later campaign too (another "process").
    again = _json(_send(h, "--location", L2, "--json", template="Last call! Reply STOP to opt out"))
    assert _counts(again) == {"sent": 1, "skipped": 1}
    assert [(loc, to) for loc, _, _, to in _outbound(h) if to == SHARED] == [(L3, SHARED)]


def test_the_campaigns_send_at_once_not_one_location_after_the_other(h: CliHarness) -> None:
    _tag_contacts(h, L2, ["+13125552001", "+13125552002", "+13125552003"])
    _tag_contacts(h, L3, ["+17205552001", "+17205552002", "+17205552003"])
    result = _send(h, "--location", f"{L2},{L3}", "--per-minute", "1")
    assert result.exit_code == 0, result.output + result.stderr
    order = [loc for loc, _, _, _ in _outbound(h)]
    assert sorted(order) == [L2] * 3 + [L3] * 3
    # Each location at its own one a minute: their sends alternate. One after the
    # other would be L2, L2, L2, L3, L3, L3.
    assert all(a != b for a, b in zip(order, order[1:], strict=False)), order


def test_profiles_of_pits_each_send_for_their_own_sub_account(h: CliHarness) -> None:
    """No agency login here: two PIT profiles against GHL (a sandbox reached through the
    app's transport, not --sandbox), each campaign sent with its profile's token."""
    with Sandbox(db_path=h.tmp / "ghl.db", clock=h.clock) as ghl:
        two = anyio.run(_tag, ghl, L2, ["+13125552001", SHARED])
        three = anyio.run(_tag, ghl, L3, [SHARED])
        for name, location in (("fitness", L2), ("realty", L3)):
            added = _invoke(h, ghl, "locations", "add", name, "--location", location,
                            input=ghl.create_token(location))  # fmt: skip
            assert added.exit_code == 0, added.output + added.stderr
        result = _invoke(h, ghl, "bulk", "send", "--location", "fitness,realty", "--tag", TAG,
                         TEMPLATE, "--json")  # fmt: skip
        assert result.exit_code == 0, result.output + result.stderr
        body = json.loads(result.stdout)
        assert [c["campaign"]["state"] for c in body["campaigns"]] == ["completed"] * 2
        sent = _messages(ghl)
    assert Counter(c for _, c, _, _ in sent) == Counter(two + three)
    assert all(sender in NUMBERS[loc] for loc, _, sender, _ in sent), sent


def _invoke(h: CliHarness, ghl: Sandbox, *args: str, input: str | None = None) -> Result:
    app = h.app()
    app.http_transport = ghl.transport()
    return CliRunner().invoke(cli, list(args), obj=app, input=input, catch_exceptions=False)


def test_status_lists_every_sub_accounts_campaigns_and_location_narrows(h: CliHarness) -> None:
    _tag_contacts(h, L2, ["+13125552001"])
    _tag_contacts(h, L3, ["+17205552001"])
    body = _json(_send(h, "--location", f"{L2},{L3}", "--json"))
    ids = {c["campaign"]["location_id"]: c["campaign"]["id"] for c in body["campaigns"]}
    listed = h.run("bulk", "status", "--sandbox")
    assert listed.exit_code == 0, listed.output
    assert f"Sub-account {L2}:" in listed.stdout and f"Sub-account {L3}:" in listed.stdout
    assert ids[L2] in listed.stdout and ids[L3] in listed.stdout
    assert "--location NAME|ID" in listed.stdout
    assert sorted(c["location_id"] for c in h.json("bulk", "status", "--sandbox")) == [L2, L3]
    only = h.json("bulk", "status", "--sandbox", "--location", L2)
    assert [c["id"] for c in only] == [ids[L2]]
    # Config profiles name them, and --location takes a profile's name; listing reads
    # only the ledger, so no token is needed.
    config = h.tmp / "config.toml"
    config.write_text(
        f'[locations.two]\nlocation_id = "{L2}"\ntoken_env = "GHL_TOKEN_TWO"\n\n'
        f'[locations.three]\nlocation_id = "{L3}"\ntoken_env = "GHL_TOKEN_THREE"\n'
    )
    on_file = ("--ledger", str(h.tmp / "sandbox-ledger.db"), "--config", str(config))
    named = h.run("bulk", "status", *on_file)
    assert named.exit_code == 0, named.output
    assert f"Sub-account two ({L2}):" in named.stdout
    assert f"Sub-account three ({L3}):" in named.stdout
    narrowed = h.run("bulk", "status", *on_file, "--location", "three")
    assert ids[L3] in narrowed.stdout and ids[L2] not in narrowed.stdout
    assert "--location NAME|ID" not in narrowed.stdout
    none_there = h.run("bulk", "status", "--sandbox", "--location", "sandboxDemoLocation4")
    assert "No campaigns in sub-account sandboxDemoLocation4 yet" in none_there.stdout
    elsewhere = h.run("bulk", "status", *on_file, "--location", "three", ids[L2])
    assert elsewhere.exit_code == 2
    assert f"belongs to sub-account two ({L2}), not three ({L3})" in elsewhere.stderr
