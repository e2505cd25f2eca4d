"""The async GHL API client: one instance per sub-account (location)."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import quote

import httpx2

from ghl_sms._clock import Clock
from ghl_sms.ghl._endpoint import DEFAULT_BASE_URL
from ghl_sms.ghl._errors import (
    ApiError,
    ConfigError,
    GhlError,
    RateLimitError,
    SendOutcomeUnknownError,
    error_for_status,
)
from ghl_sms.ghl._models import (
    CancelScheduledResult,
    Contact,
    ContactPage,
    ConversationDetail,
    ConversationPage,
    ConversationSummary,
    CreatedConversation,
    InboundMessageResult,
    Location,
    Message,
    MessagePage,
    MessageStatusUpdate,
    PhoneNumberList,
    SendMessageResult,
    UploadResult,
    UpsertContactResult,
)
from ghl_sms.ghl._pacing import DailyLimitExhausted, RateLimits, RequestPacer, SlidingWindowPacer
from ghl_sms.ghl._retry import RetryPolicy
from ghl_sms.ghl._wire import WireClient

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_VERSIONS", "GhlClient", "TokenProvider"]

logger = logging.getLogger("ghl_sms.ghl")

# Each API module declares exactly one `Version` value in its spec.
DEFAULT_VERSIONS: Mapping[str, str] = {
    "conversations": "2021-04-15",
    "contacts": "2021-07-28",
    "phone-system": "2021-07-28",
    "locations": "2021-07-28",
}

# A 401 that a fresh token may cure (expired or invalid), unlike a missing scope or an
# agency token on a location route ("Token's user type mismatch!").
_STALE_TOKEN = re.compile(r"invalid jwt|invalid token|expired|jwt", re.IGNORECASE)
_SCOPE_OR_CLASS = re.compile(r"scope|user type|authclass", re.IGNORECASE)


class TokenProvider(Protocol):
    """Hands out the current bearer token (an OAuth location token that rotates).

    Called before each request; called with ``invalid=`` the token GHL just refused as
    expired or invalid, it must return a fresh one (or raise).
    """

    async def __call__(self, *, invalid: str | None = None) -> str: ...


def _token_problem(token: str) -> str | None:
    if any(c.isspace() or not c.isprintable() for c in token):
        # Never echoed: a pasted token with a line break is still the secret.
        return (
            "The GHL token contains spaces, line breaks or control characters (a "
            "copy-paste slip?); copy the whole token again. It is not shown here."
        )
    return None


def _seg(value: str) -> str:
    """One path segment, escaped so an id can never change the route."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def _epoch_seconds(when: datetime) -> int:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("scheduled_at must be an aware datetime (with a time zone)")
    return int(when.timestamp())


class GhlClient(WireClient):
    """Talks to GHL's API for one location.

    Build it from explicit arguments; it never reads the environment::

        async with GhlClient(token="pit-...", location_id="ve9EPM428h8vShlRW1KT") as ghl:
            sent = await ghl.send_message(contact_id="...", message="Hi!")

    ``transport`` swaps the network (``httpx2.MockTransport`` in unit tests, the
    sandbox's in-process transport in contract tests); ``clock`` drives pacing and
    retry waits; ``pacer`` may be shared by several clients of one location.
    ``token_provider`` replaces ``token`` for a token that changes (OAuth): it is asked
    before each request, and once more after GHL refuses a token as expired.
    """

    _keep_secrets: ClassVar[int | None] = 8  # the static token, or the latest handed out

    def __init__(
        self,
        *,
        token: str | None = None,
        location_id: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        pacer: RequestPacer | None = None,
        rate_limits: RateLimits | None = None,
        versions: Mapping[str, str] | None = None,
        token_provider: TokenProvider | None = None,
    ) -> None:
        if token_provider is None and (not token or not token.strip()):
            raise ConfigError("A GHL token is required (a Private Integration Token, pit-...).")
        if token_provider is not None and token:
            raise ConfigError("Give the GHL client a token or a token provider, not both.")
        if not location_id or not location_id.strip():
            raise ConfigError("A GHL location id (sub-account id) is required.")
        self._token = (token or "").strip()
        problem = _token_problem(self._token)
        if problem is not None:
            raise ConfigError(problem)
        self._token_provider = token_provider
        self.location_id = location_id.strip()
        self._versions = {**DEFAULT_VERSIONS, **(versions or {})}
        self._open_wire(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            clock=clock,
            retry=retry,
            rng=rng,
            headers={
                **({"Authorization": f"Bearer {self._token}"} if self._token else {}),
                # Most calls (and every send) are conversations calls; others override it.
                "Version": self._versions["conversations"],
            },
            secrets=[self._token] if self._token else [],
        )
        self.pacer: RequestPacer = pacer or SlidingWindowPacer(self._clock, rate_limits)

    def __repr__(self) -> str:
        return f"GhlClient(location_id={self.location_id!r}, base_url={self.base_url!r})"

    # --- conversations: messages ----------------------------------------------------------

    async def send_message(
        self,
        *,
        contact_id: str,
        message: str | None = None,
        attachments: Sequence[str] | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
        scheduled_at: datetime | None = None,
        type: Literal["SMS"] = "SMS",
    ) -> SendMessageResult:
        """Send (or schedule) an SMS; with ``attachments`` it is an MMS.

        Raises ``SendOutcomeUnknownError`` when the request may have reached GHL but no
        usable answer came back: the text may have gone out, so never resend blindly.
        """
        body: dict[str, Any] = {"type": type, "contactId": contact_id}
        if message is not None:
            body["message"] = message
        if attachments:
            body["attachments"] = list(attachments)
        if from_number:
            body["fromNumber"] = from_number
        if to_number:
            body["toNumber"] = to_number
        if scheduled_at is not None:
            body["scheduledTimestamp"] = _epoch_seconds(scheduled_at)
        data = await self._call(
            "POST", "/conversations/messages", module="conversations", json=body, is_send=True
        )
        return self._parse(SendMessageResult, data, "POST", "/conversations/messages")

    async def cancel_scheduled_message(self, message_id: str) -> CancelScheduledResult:
        """Cancel a scheduled message.

        GHL answers a failed cancel with HTTP 200 and ``{"status": 404, ...}`` in the body;
        that is raised as the matching ``ApiError`` (``NotFoundError``), not returned.
        """
        path = f"/conversations/messages/{_seg(message_id)}/schedule"
        data = await self._call("DELETE", path, module="conversations", idempotent=True)
        result = self._parse(CancelScheduledResult, data, "DELETE", path)
        if result.status >= 400:
            raise error_for_status(result.status)(
                result.message, status_code=result.status, method="DELETE", path=path
            )
        return result

    async def get_message(self, message_id: str) -> Message:
        path = f"/conversations/messages/{_seg(message_id)}"
        data = await self._call("GET", path, module="conversations")
        # The live API wraps it: {"message": {...}}; the spec shows it flat.
        if isinstance(data, dict) and isinstance(data.get("message"), dict):
            data = data["message"]
        return self._parse(Message, data, "GET", path)

    async def list_messages(
        self,
        conversation_id: str,
        *,
        last_message_id: str | None = None,
        limit: int = 20,
        types: Sequence[str] | None = None,
    ) -> MessagePage:
        """One page of a conversation's messages, newest first.

        Pass the page's ``last_message_id`` back to get the next (older) page.
        """
        path = f"/conversations/{_seg(conversation_id)}/messages"
        params: dict[str, Any] = {"limit": limit}
        if last_message_id:
            params["lastMessageId"] = last_message_id
        if types:
            params["type"] = ",".join(types)
        data = await self._call("GET", path, module="conversations", params=params)
        # The live API nests the page: {"messages": {"lastMessageId", "nextPage", "messages"}}.
        if isinstance(data, dict) and isinstance(data.get("messages"), dict):
            data = data["messages"]
        return self._parse(MessagePage, data, "GET", path)

    async def iter_messages(
        self, conversation_id: str, *, page_size: int = 50, types: Sequence[str] | None = None
    ) -> AsyncIterator[Message]:
        """Every message of a conversation, newest first, across pages."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_messages(
                conversation_id, last_message_id=cursor, limit=page_size, types=types
            )
            for message in page.messages:
                if message.id not in seen:
                    seen.add(message.id)
                    yield message
            cursor = page.last_message_id or (page.messages[-1].id if page.messages else None)
            if not page.next_page or not page.messages or cursor is None:
                return

    async def update_message_status(
        self,
        message_id: str,
        status: MessageStatusUpdate,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> SendMessageResult:
        """Report a delivery status (only a conversation-provider app may do this)."""
        path = f"/conversations/messages/{_seg(message_id)}/status"
        body: dict[str, Any] = {"status": status}
        if error_code or error_message:
            body["error"] = {
                "code": error_code or "1",
                "type": "saas",
                "message": error_message or "There was an error from the provider",
            }
        data = await self._call("PUT", path, module="conversations", json=body, idempotent=True)
        return self._parse(SendMessageResult, data, "PUT", path)

    async def add_inbound_message(
        self,
        *,
        conversation_id: str,
        contact_id: str,
        message: str,
        conversation_provider_id: str | None = None,
        attachments: Sequence[str] | None = None,
        type: str = "SMS",
        alt_id: str | None = None,
        date: datetime | None = None,
    ) -> InboundMessageResult:
        """Record a message received outside GHL (for conversation-provider apps)."""
        body: dict[str, Any] = {
            "type": type,
            "conversationId": conversation_id,
            "contactId": contact_id,
            "message": message,
        }
        if conversation_provider_id:
            body["conversationProviderId"] = conversation_provider_id
        if attachments:
            body["attachments"] = list(attachments)
        if alt_id:
            body["altId"] = alt_id
        if date is not None:
            body["date"] = date.isoformat()
        path = "/conversations/messages/inbound"
        data = await self._call("POST", path, module="conversations", json=body)
        return self._parse(InboundMessageResult, data, "POST", path)

    async def upload_attachments(
        self,
        *,
        conversation_id: str,
        contact_id: str,
        files: Sequence[tuple[str, bytes, str]],
    ) -> UploadResult:
        """Upload files (name, bytes, content type); returns their URLs for ``attachments``."""
        if not files:
            raise ValueError("no files to upload")
        form = {
            "conversationId": conversation_id,
            "contactId": contact_id,
            "locationId": self.location_id,
        }
        parts = [("fileAttachment", (name, content, ctype)) for name, content, ctype in files]
        path = "/conversations/messages/upload"
        data = await self._call(
            "POST", path, module="conversations", data=form, files=parts, json_body=False
        )
        return self._parse(UploadResult, data, "POST", path)

    # --- conversations ----------------------------------------------------------------

    async def search_conversations(
        self,
        *,
        contact_id: str | None = None,
        status: Literal["all", "read", "unread", "starred", "recents"] | None = None,
        query: str | None = None,
        last_message_direction: Literal["inbound", "outbound"] | None = None,
        sort: Literal["asc", "desc"] = "desc",
        sort_by: Literal["last_message_date", "last_manual_message_date"] = "last_message_date",
        limit: int = 20,
        start_after_date: float | None = None,
    ) -> ConversationPage:
        """One page of the location's conversations.

        Page on with ``start_after_date`` set to the last conversation's sort value
        (``iter_conversations`` does this for you).
        """
        params: dict[str, Any] = {
            "locationId": self.location_id,
            "sort": sort,
            "sortBy": sort_by,
            "limit": limit,
        }
        optional = {
            "contactId": contact_id,
            "status": status,
            "query": query,
            "lastMessageDirection": last_message_direction,
            "startAfterDate": None if start_after_date is None else int(start_after_date),
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        path = "/conversations/search"
        data = await self._call("GET", path, module="conversations", params=params)
        return self._parse(ConversationPage, data, "GET", path)

    async def iter_conversations(
        self,
        *,
        contact_id: str | None = None,
        status: Literal["all", "read", "unread", "starred", "recents"] | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[ConversationSummary]:
        """Every matching conversation, most recent first, across pages."""
        start_after: float | None = None
        seen: set[str] = set()
        while True:
            page = await self.search_conversations(
                contact_id=contact_id, status=status, limit=page_size, start_after_date=start_after
            )
            fresh = [c for c in page.conversations if c.id not in seen]
            for conversation in fresh:
                seen.add(conversation.id)
                yield conversation
            if len(page.conversations) < page_size or not fresh:
                return
            start_after = _sort_value(page.conversations[-1])
            if start_after is None:
                return

    async def get_conversation(self, conversation_id: str) -> ConversationDetail:
        path = f"/conversations/{_seg(conversation_id)}"
        data = await self._call("GET", path, module="conversations")
        if isinstance(data, dict) and isinstance(data.get("conversation"), dict):
            data = data["conversation"]
        return self._parse(ConversationDetail, data, "GET", path)

    async def create_conversation(self, contact_id: str) -> CreatedConversation:
        path = "/conversations/"
        body = {"locationId": self.location_id, "contactId": contact_id}
        data = await self._call("POST", path, module="conversations", json=body)
        if isinstance(data, dict) and isinstance(data.get("conversation"), dict):
            data = data["conversation"]
        return self._parse(CreatedConversation, data, "POST", path)

    # --- contacts -----------------------------------------------------------------------

    async def get_contact(self, contact_id: str) -> Contact:
        """A contact with its DND state (only this endpoint returns DND reliably)."""
        path = f"/contacts/{_seg(contact_id)}"
        data = await self._call("GET", path, module="contacts")
        return self._parse(Contact, _unwrap(data, "contact"), "GET", path)

    async def find_contact_by_phone(self, phone: str) -> Contact | None:
        """The location's contact with this phone number (E.164), or None."""
        path = "/contacts/search/duplicate"
        params = {"locationId": self.location_id, "number": phone}
        data = await self._call("GET", path, module="contacts", params=params)
        found = data.get("contact") if isinstance(data, dict) else None
        if not found:
            return None
        return self._parse(Contact, found, "GET", path)

    async def search_contacts(
        self,
        *,
        tag: str | None = None,
        query: str | None = None,
        email: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        page: int = 1,
        page_limit: int = 100,
        search_after: Sequence[Any] | None = None,
    ) -> ContactPage:
        """One page of the location's contacts (``POST /contacts/search``).

        ``query`` is GHL's free text (names, email, phone); ``tag`` and ``email`` become
        filters, ANDed with any raw ``filters`` (``{field, operator, value}``). Pages are
        ``page``/``page_limit`` (GHL stops at 10,000 results), or, past that, the last
        contact's ``search_after`` (then ``page`` is not sent). The phone filter finds
        nothing live: look a number up with ``find_contact_by_phone``.
        """
        body: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit}
        if search_after is not None:
            body["searchAfter"] = list(search_after)
        else:
            body["page"] = page
        conditions: list[dict[str, Any]] = []
        if tag:
            conditions.append({"field": "tags", "operator": "contains", "value": tag})
        if email:
            conditions.append({"field": "email", "operator": "eq", "value": email})
        conditions.extend(dict(f) for f in filters or ())
        if conditions:
            body["filters"] = conditions
        if query:
            body["query"] = query
        path = "/contacts/search"
        # A search changes nothing, so it is as safe to repeat as a GET.
        data = await self._call("POST", path, module="contacts", json=body, idempotent=True)
        return self._parse(ContactPage, data, "POST", path)

    async def iter_contacts(
        self, *, tag: str | None = None, query: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Contact]:
        """Every matching contact, across pages (without DND: see ``get_contact``)."""
        page_number = 1
        seen = 0
        while True:
            page = await self.search_contacts(
                tag=tag, query=query, page=page_number, page_limit=page_size
            )
            for contact in page.contacts:
                yield contact
            seen += len(page.contacts)
            if not page.contacts or len(page.contacts) < page_size or seen >= page.total:
                return
            page_number += 1

    async def upsert_contact(
        self,
        *,
        phone: str | None = None,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        name: str | None = None,
        timezone: str | None = None,
        tags: Sequence[str] | None = None,
        source: str | None = None,
    ) -> UpsertContactResult:
        """Create the contact, or update the one that matches the phone or email."""
        if not phone and not email:
            raise ValueError("upsert needs a phone or an email")
        fields = {
            "phone": phone,
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "name": name,
            "timezone": timezone,
            "tags": list(tags) if tags is not None else None,
            "source": source,
        }
        body: dict[str, Any] = {"locationId": self.location_id}
        body.update({k: v for k, v in fields.items() if v is not None})
        path = "/contacts/upsert"
        data = await self._call("POST", path, module="contacts", json=body)
        return self._parse(UpsertContactResult, data, "POST", path)

    async def update_contact_dnd(
        self, contact_id: str, *, sms_status: Literal["active", "inactive", "permanent"]
    ) -> Contact:
        """Set (or lift) SMS DND on a contact."""
        path = f"/contacts/{_seg(contact_id)}"
        body = {"dndSettings": {"SMS": {"status": sms_status}}}
        data = await self._call("PUT", path, module="contacts", json=body, idempotent=True)
        return self._parse(Contact, _unwrap(data, "contact"), "PUT", path)

    # --- numbers and location -----------------------------------------------------------

    async def list_phone_numbers(self, *, page_size: int = 100, page: int = 0) -> PhoneNumberList:
        """The location's numbers with their SMS/MMS capabilities and the default one."""
        path = f"/phone-system/numbers/location/{_seg(self.location_id)}"
        params = {"pageSize": page_size, "page": page}
        data = await self._call("GET", path, module="phone-system", params=params)
        if isinstance(data, dict) and isinstance(data.get("data"), dict):  # v3 envelope
            data = data["data"]
        return self._parse(PhoneNumberList, data, "GET", path)

    async def get_location(self) -> Location:
        path = f"/locations/{_seg(self.location_id)}"
        data = await self._call("GET", path, module="locations")
        return self._parse(Location, _unwrap(data, "location"), "GET", path)

    # --- the request loop ---------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        module: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        idempotent: bool | None = None,
        is_send: bool = False,
        json_body: bool = True,
    ) -> Any:
        """Make one logical call: pace, send, retry what is safe, map errors, parse JSON."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "OPTIONS")
        headers: dict[str, str] | None = None
        version = self._versions[module]
        if version != self._versions["conversations"]:
            headers = {"Version": version}
        if json_body and json is None:
            # Real clients send it on every request, GET and DELETE included; with a JSON
            # body httpx2 sets it itself.
            headers = {**(headers or {}), "Content-Type": "application/json"}
        attempt = 0
        token: str | None = None
        renewed = False  # at most one fresh token per call
        while True:
            if self._token_provider is not None and not (renewed and token is not None):
                token = await self._current_token(None)
                headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
            try:
                await self.pacer.acquire()
            except DailyLimitExhausted as exc:
                exhausted = RateLimitError(str(exc), status_code=429, method=method, path=path)
                exhausted.daily_exhausted = True
                exhausted.retryable = False
                raise exhausted from None
            started = self._clock.now()
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, data=data, files=files, headers=headers
                )
            except httpx2.TransportError as exc:
                failure = self._transport_error(exc, method, path)
                if await self._wait_to_retry(
                    failure, attempt, idempotent=idempotent, method=method, path=path
                ):
                    attempt += 1
                    continue
                if is_send and failure.reached_server:
                    raise self._outcome_unknown(failure) from None
                raise failure from None
            self.pacer.observe(response.headers)
            if logger.isEnabledFor(logging.DEBUG):
                elapsed_ms = (self._clock.now() - started) * 1000
                status = response.status_code
                logger.debug("%s %s -> %s (%.0f ms)", method, path, status, elapsed_ms)
            if response.status_code < 400:
                return self._json(response, method, path)
            error = self._api_error(response, method, path)
            if token is not None and not renewed and _is_stale_token(error):
                # Refused before processing: safe to repeat, sends included, once.
                renewed = True
                token = await self._current_token(token)
                headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
                continue
            if await self._wait_to_retry(
                error, attempt, idempotent=idempotent, method=method, path=path
            ):
                attempt += 1
                continue
            if is_send and response.status_code >= 500:
                raise self._outcome_unknown(error)
            raise error

    def _outcome_unknown(self, cause: GhlError) -> SendOutcomeUnknownError:
        error = SendOutcomeUnknownError(
            "The send may have reached GHL but no usable answer came back "
            f"({cause.message}); check the conversation before sending again.",
            method=cause.method,
            path=cause.path,
            status_code=cause.status_code,
            trace_id=cause.trace_id,
        )
        error.retryable = False
        return error

    async def _current_token(self, invalid: str | None) -> str:
        assert self._token_provider is not None
        token = (await self._token_provider(invalid=invalid)).strip()
        problem = _token_problem(token) if token else "The token provider gave no token."
        if problem is not None:
            raise ConfigError(problem)
        return self._hide(token)


def _is_stale_token(error: ApiError) -> bool:
    if error.status_code != 401:
        return False
    text = " ".join(error.messages)
    return bool(_STALE_TOKEN.search(text)) and not _SCOPE_OR_CLASS.search(text)


def _unwrap(data: Any, key: str) -> Any:
    if isinstance(data, dict) and isinstance(data.get(key), dict):
        return data[key]
    return data


def _sort_value(conversation: ConversationSummary) -> float | None:
    if conversation.sort:
        return conversation.sort[0]
    if conversation.last_message_date is not None:
        return conversation.last_message_date.timestamp() * 1000
    return None
