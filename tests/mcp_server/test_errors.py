"""Every failure reaches the model as a ToolError it can act on; bugs as one bare line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError

import ghl_sms.ghl as ghl
from ghl_sms._clock import FakeClock
from ghl_sms.mcp_server._errors import anticipated_cause, tool_error
from ghl_sms.mcp_server._send import schedule_time
from ghl_sms.ops.errors import (
    OpsError,
    PhoneGivenAsContact,
    PreflightBlocked,
    RecipientNotFound,
    RepeatSendError,
    SenderNotAvailable,
    SendInProgressError,
    UsageError,
)
from ghl_sms.ops.ledger import SendRecord, SendState
from ghl_sms.rules.preflight import preflight
from ghl_sms.sandbox import ALL_SCOPES, Sandbox
from support.stack import WEEKDAY_NOON

AVA = "sbxCtReachable000001"
BEN_DND = "sbxCtSmsDnd000000001"
MODES = ["auto", "legacy"]


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _record() -> SendRecord:
    return SendRecord(*([1, "k", "caller", "loc", "c", "+1", "t", (), None, None, SendState.SENT]
                        + [None] * 8 + [0.0, 0.0]))  # fmt: skip


def _instance(cls: type) -> Exception:
    if issubclass(cls, ghl.TransportError):
        return cls("no answer", reached_server=True, method="GET", path="/x")
    if issubclass(cls, ghl.ApiError):
        status = {ghl.AuthenticationError: 401, ghl.PermissionDeniedError: 403,
                  ghl.NotFoundError: 404, ghl.ConflictError: 409, ghl.RateLimitError: 429,
                  ghl.ServerError: 500}.get(cls, 400)  # fmt: skip
        return cls("GHL said no", status_code=status, method="GET", path="/x", trace_id="t-1")
    if cls is PreflightBlocked:
        return cls(
            preflight(contact=None, text="hi", now=datetime.fromtimestamp(WEEKDAY_NOON, UTC))
        )
    if cls is RepeatSendError:
        return cls(_record(), 600.0)
    if cls is SendInProgressError:
        return cls(_record())
    if cls is PhoneGivenAsContact:
        return cls("+14155550100", instead="use --to for a number (to_number over MCP).")
    if cls is WebhookVerificationError:
        return cls("bad_signature", "The signature does not match the body.")
    return cls("The sending number is invalid; pick one of sms_numbers.")


from ghl_sms.webhooks import WebhookVerificationError  # noqa: E402

ANTICIPATED = sorted(
    _subclasses(ghl.GhlError)
    | {OpsError, *_subclasses(OpsError), RepeatSendError, SendInProgressError},
    key=lambda c: c.__name__,
)


@pytest.mark.parametrize("cls", ANTICIPATED, ids=lambda c: c.__name__)
def test_every_ghl_and_ops_error_type_maps_to_an_actionable_tool_error(cls: type) -> None:
    error = _instance(cls)
    mapped = tool_error(error)
    assert isinstance(mapped, ToolError)
    text = str(mapped)
    assert len(text) > 40 and "Traceback" not in text
    if isinstance(error, PreflightBlocked):
        assert all(f"[{r.code}] {r.message}" in text for r in error.reasons)
    elif isinstance(error, PhoneGivenAsContact):  # the CLI's words become the tools' words
        assert "'+14155550100' is a phone number" in text and "--to" not in text
        assert "to_number" in text and "sms_contacts" in text
    else:
        assert str(error) in text  # the original words stay; the mapping adds the next step
    if issubclass(cls, ghl.ApiError):
        assert "trace t-1" in text  # the request id, for GHL support


def test_the_mapping_covers_the_ops_errors_the_tools_can_raise() -> None:
    assert {RecipientNotFound, SenderNotAvailable, UsageError, PreflightBlocked} <= set(ANTICIPATED)


def test_a_bug_is_not_mapped() -> None:
    assert tool_error(RuntimeError("internal detail")) is None
    assert tool_error(KeyError("x")) is None


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_crash_reaches_the_model_as_one_bare_line(
    connect: Any, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connect(mode=mode) as s:

        async def broken() -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(s.stack.service, "numbers", broken)
        assert await s.error("sms_numbers") == "Error executing tool sms_numbers"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("429", "GHL's rate limit was hit; wait"),
        ("500", "GHL failed on its side; try again in a minute."),
        ("hang", "GHL could not be reached"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_ghl_failures_on_reads_say_what_to_do(
    connect: Any, mode: str, fault: str, expected: str
) -> None:
    async with connect(mode=mode) as s:
        s.stack.sandbox.inject_fault(fault, count=3, path="/conversations/search")  # type: ignore[arg-type]
        text = await s.error("sms_inbox")
        assert text.startswith("Error executing tool sms_inbox: GHL error: ")
        assert expected in text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_message_id_points_to_where_ids_come_from(connect: Any, mode: str) -> None:
    async with connect(mode=mode) as s:
        text = await s.error("sms_status", message_id="noSuchMessage0000000")
        assert "Check the id" in text and "sms_history" in text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_contact_says_so(connect: Any, mode: str) -> None:
    async with connect(mode=mode) as s:
        text = await s.error("sms_thread", contact_id="noSuchContact0000000")
        assert "No contact 'noSuchContact0000000'" in text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_rejected_token_points_to_doctor(connect: Any, mode: str) -> None:
    async with connect(mode=mode, token="pit-00000000-0000-4000-8000-00000000dead") as s:
        text = await s.error("sms_numbers")
        assert "GHL refused the token" in text and "ghl-sms doctor" in text
        assert "pit-00000000" not in text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_missing_scope_names_the_scopes_to_enable(connect: Any, mode: str) -> None:
    clock = FakeClock(WEEKDAY_NOON)
    sb = Sandbox(clock=clock)
    token = sb.create_token(sb.location_id, [s for s in ALL_SCOPES if s != "phonenumbers.read"])
    async with connect(mode=mode, sandbox=sb, clock=clock, token=token) as s:
        text = await s.error("sms_numbers")
        assert "not authorized for this scope" in text and "phonenumbers.read" in text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_token_of_another_location_says_to_fix_the_location(
    connect: Any, mode: str
) -> None:
    clock = FakeClock(WEEKDAY_NOON)
    sb = Sandbox(clock=clock)
    other = sb.create_location(name="Other", numbers=["+14155550177"])
    async with connect(mode=mode, sandbox=sb, clock=clock, token=sb.create_token(other)) as s:
        text = await s.error("sms_inbox")
        assert "another sub-account" in text and "GHL_LOCATION_ID" in text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_lost_send_answer_never_texts_twice(connect: Any, mode: str) -> None:
    async with connect(mode=mode, confirm=False) as s:
        await s.ok("sms_send", text="Earlier", contact_id=AVA)
        conversation = (await s.ok("sms_thread", contact_id=AVA))["conversation_id"]
        sandbox = s.stack.sandbox
        # The send goes out but its answer is lost, and so is the lookup that would settle it.
        sandbox.inject_fault("500_after", path="/conversations/messages", method="POST")
        sandbox.inject_fault("500", count=3, path=f"/conversations/{conversation}/messages")
        text = await s.error("sms_send", text="Exactly once", contact_id=AVA)
        assert "may or may not have gone out" in text and "exactly the same arguments" in text
        s.stack.clock.advance(300)  # the in-doubt record's lease runs out
        again = await s.ok("sms_send", text="Exactly once", contact_id=AVA)
        assert again["outcome"] == "sent"
        assert [body for _, body, _ in s.sent(AVA)] == ["Earlier", "Exactly once"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_bad_arguments_come_back_as_errors_the_model_can_fix(connect: Any, mode: str) -> None:
    async with connect(mode=mode) as s:
        text = await s.error("sms_status", message_id="")
        assert text == (
            "Error executing tool sms_status: message_id must not be empty. "
            "Fix it and call sms_status again; nothing was done."
        )
        text = await s.error("sms_send", text="x" * 1601, contact_id=AVA)
        assert "text must be at most 1600 characters (it has 1601)." in text
        assert s.sent(AVA) == []


FIX = " Fix it and call {tool} again; nothing was done."
BAD_ARGUMENTS = [
    ("sms_send", {"contact_id": AVA}, "text is required."),
    ("sms_send", {"text": 123, "contact_id": AVA}, 'text must be a string, e.g. "123" (got 123).'),
    ("sms_send", {"text": None, "contact_id": AVA}, "text must be a string (got null)."),
    (
        "sms_send",
        {"text": "Hi", "to_number": 14155550100},
        'to_number must be a string, e.g. "14155550100" (got 14155550100).',
    ),
    (
        "sms_send",
        {"text": "Hi", "contact_id": AVA, "confirmed": "maybe"},
        "confirmed must be true or false (got 'maybe').",
    ),
    (
        "sms_send",
        {"text": "Hi", "contact_id": AVA, "media_urls": "https://x.test/a.jpg"},
        "media_urls must be a list, e.g. [\"https://x.test/a.jpg\"] (got 'https://x.test/a.jpg').",
    ),
    (
        "sms_send",
        {"text": "Hi", "contact_id": AVA, "media_urls": ["https://x.test/a.jpg"] * 11},
        "media_urls must hold at most 10 items (got 11).",
    ),
    ("sms_inbox", {"limit": "abc"}, "limit must be a whole number (got 'abc')."),
    ("sms_inbox", {"limit": 2.5}, "limit must be a whole number (got 2.5)."),
    ("sms_inbox", {"limit": 0}, "limit must be at least 1 (got 0)."),
    ("sms_inbox", {"limit": 10**30}, "limit must be at most 50 (got a 31-digit number)."),
    (
        "sms_bulk_send",
        {"template": "Hi", "per_minute": 0},
        "per_minute must be at least 1 (got 0).",
    ),
    ("sms_status", {}, "message_id is required."),
    ("sms_cancel", {"message_id": ["a"]}, "message_id must be a string (got a list of 1)."),
    (
        "sms_check",
        {"text": "x" * 1601},
        "text must be at most 1600 characters (it has 1601).",
    ),
    (
        "sms_campaign",
        {"action": "stop"},
        "action must be one of 'list', 'status', 'pause' or 'resume' (got 'stop').",
    ),
    ("sms_contacts", {"limit": 21}, "limit must be at most 20 (got 21)."),
    ("sms_history", {"limit": 0}, "limit must be at least 1 (got 0)."),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "arguments", "sentence"), BAD_ARGUMENTS)
async def test_each_bad_argument_gets_one_plain_sentence_without_pydantic_text(
    connect: Any, tool: str, arguments: dict[str, Any], sentence: str
) -> None:
    async with connect(confirm=False) as s:
        before = s.outbound_count()
        text = await s.error(tool, **arguments)
        assert text == f"Error executing tool {tool}: {sentence}" + FIX.format(tool=tool)
        assert s.outbound_count() == before


@pytest.mark.anyio
async def test_several_bad_arguments_get_a_sentence_each(connect: Any) -> None:
    async with connect() as s:
        text = await s.error("sms_send", text="Hi", contact_id=5, confirmed="maybe")
        assert text == (
            'Error executing tool sms_send: contact_id must be a string, e.g. "5" (got 5). '
            "confirmed must be true or false (got 'maybe'). "
            "Fix them and call sms_send again; nothing was done."
        )
        for leaked in ("pydantic", "validation error", "input_value", "type=", "Arguments"):
            assert leaked not in text


@pytest.mark.anyio
async def test_an_unknown_argument_is_refused_not_ignored(connect: Any) -> None:
    async with connect(confirm=False) as s:
        text = await s.error("sms_send", text="Hi", contact_id=AVA, to="+14155550188")
        assert text.startswith(
            "Error executing tool sms_send: sms_send has no argument 'to' "
            "(did you mean to_number?). Its arguments are: text, contact_id, to_number,"
        )
        assert text.endswith("Call again without the unknown ones; nothing was done.")
        assert s.sent(AVA) == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("send_at", "expected"),
    [
        ("9999999d", "send_at: '9999999d' is too far ahead"),
        ("tomorrow-ish", "send_at: 'tomorrow-ish' is not a time. Use a duration such as 30m"),
    ],
)
async def test_a_bad_send_at_says_what_was_wrong_and_what_to_use(
    connect: Any, mode: str, user: Any, send_at: str, expected: str
) -> None:
    async with connect(mode=mode, user=user) as s:
        text = await s.error("sms_send", text="Later", contact_id=AVA, send_at=send_at)
        assert text.startswith(f"Error executing tool sms_send: {expected}")
        assert "Use a duration such as " in text
        assert user.asked == [] and s.sent(AVA) == []


def test_a_delay_past_the_last_date_is_a_usage_error_not_a_crash() -> None:
    # Rounding a delay to the minute can step past datetime.max even where parsing did not.
    with pytest.raises(UsageError, match="send_at"):
        schedule_time("2914000d", FakeClock(WEEKDAY_NOON))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("echo", [str, str.upper, str.lower], ids=["exact", "upper", "lower"])
async def test_no_error_text_echoes_the_token_in_any_case(
    connect: Any, mode: str, monkeypatch: pytest.MonkeyPatch, echo: Any
) -> None:
    async with connect(mode=mode) as s:
        token = s.stack.sandbox.token

        async def leaky() -> None:
            raise UsageError(f"GHL said: bearer {echo(token)} is not welcome.")

        monkeypatch.setattr(s.stack.service, "numbers", leaky)
        text = await s.error("sms_numbers")
        assert text.startswith("Error executing tool sms_numbers: GHL said: bearer ")
        assert "is not welcome" in text and token.lower() not in text.lower()


def test_an_anticipated_error_that_escaped_tool_errors_still_reads_as_itself() -> None:
    crash = UnexpectedToolError("Error executing tool sms_x")
    crash.__cause__ = UsageError("Say who to text.")
    mapped = anticipated_cause("sms_x", crash)
    assert mapped is not None and str(mapped) == "Error executing tool sms_x: Say who to text."
    bug = UnexpectedToolError("Error executing tool sms_x")
    bug.__cause__ = RuntimeError("internal")
    assert anticipated_cause("sms_x", bug) is None


@pytest.mark.anyio
async def test_numbers_and_bodies_stay_out_of_the_info_log(
    connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body, number = "Secret body 4711", "+14155550188"
    caplog.set_level(logging.DEBUG)
    async with connect() as s:
        await s.error("sms_send", text=body, to_number=number)  # refused: preview to confirm
        await s.ok("sms_send", text=body, to_number=number, confirmed=True)
        await s.ok("sms_send", text=body, to_number=number, confirmed=True)  # a duplicate
        await s.error("sms_send", text=body, contact_id=BEN_DND, confirmed=True)  # blocked
        await s.error("sms_send", text=body, to_number=number, media_urls=body)  # bad argument
        await s.ok("sms_thread", to_number=number)
    # The HTTP client's own request lines (with query strings) are quieted by the entry
    # point: see the test below.
    info = [
        r
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.split(".")[0] not in HTTP_CLIENT_LOGGERS
    ]
    assert "Tool sms_send refused (PreflightBlocked)" in [r.getMessage() for r in info]
    for record in info:
        line = record.getMessage()
        assert body not in line and number not in line and "4155550188" not in line, line
    debug = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert body in debug  # the full refusal is there when asked for


HTTP_CLIENT_LOGGERS = ("httpx2", "httpcore2")
NOISY_LOGGERS = (*HTTP_CLIENT_LOGGERS, "procrastinate")  # its "Registering task" on PostgreSQL


def test_the_server_entry_point_quiets_request_lines_and_job_engine_chatter() -> None:
    from ghl_sms.cli._mcp import _log_to_stderr

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    try:
        _log_to_stderr("DEBUG")  # even when the user asks for everything
        for name in NOISY_LOGGERS:
            assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
