"""The conversation endpoints of GHL's conversations API: search and page, read one,
create one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from ghl_sms.ghl._calls import ApiCaller, seg
from ghl_sms.ghl._models import (
    ConversationDetail,
    ConversationPage,
    ConversationSummary,
    CreatedConversation,
)

__all__ = ["ConversationsApi"]


class ConversationsApi(ApiCaller):
    """``/conversations/search``, ``/conversations/{id}`` and ``POST /conversations/``."""

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
        path = f"/conversations/{seg(conversation_id)}"
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


def _sort_value(conversation: ConversationSummary) -> float | None:
    if conversation.sort:
        return conversation.sort[0]
    if conversation.last_message_date is not None:
        return conversation.last_message_date.timestamp() * 1000
    return None
