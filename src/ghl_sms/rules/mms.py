"""MMS attachment checks that need no network (sms-rules §6, ghl-api.md §8).

At most 10 media URLs, publicly downloadable over HTTP(S), at most 5 MB in total. The
media type is read from the URL's extension unless the caller knows the real
``Content-Type`` (from a HEAD request made elsewhere): JPEG, PNG and GIF are reliable,
everything else depends on the carrier and the handset.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "CARRIER_DEPENDENT_TYPES",
    "MAX_ATTACHMENTS",
    "MAX_TOTAL_BYTES",
    "RELIABLE_TYPES",
    "Attachment",
    "MediaCheck",
    "MediaIssue",
    "check_attachments",
    "media_type_for",
]

MAX_ATTACHMENTS = 10  # Twilio 21623 beyond
MAX_TOTAL_BYTES = 5_000_000  # "5 MB" (63034 beyond); the decimal reading is the safe one
NON_IMAGE_WARN_BYTES = 600_000
TOLL_FREE_IMAGE_WARN_BYTES = 1_000_000

RELIABLE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
CARRIER_DEPENDENT_TYPES = {
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "amr": "audio/amr",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
    "3gp": "video/3gpp",
    "mov": "video/quicktime",
    "vcf": "text/vcard",
    "ics": "text/calendar",
    "pdf": "application/pdf",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "heic": "image/heic",
    "txt": "text/plain",
}
_RELIABLE_MIME = frozenset(RELIABLE_TYPES.values()) | {"image/jpg"}

IssueCode = Literal[
    "too_many_attachments",
    "bad_url",
    "private_url",
    "too_large",
    "carrier_dependent_type",
    "unknown_type",
    "type_mismatch",
    "large_media",
    "expiring_url",
]

# Query parameters of pre-signed URLs (S3, GCS, Azure SAS, CloudFront): they may expire
# before the carrier downloads the file.
_SIGNED_PARAMS = frozenset(
    {"x-amz-signature", "x-amz-expires", "x-goog-signature", "x-goog-expires", "se", "sig",
     "signature", "expires"}
)  # fmt: skip


@dataclass(frozen=True)
class Attachment:
    """A media URL, with what is known about it (``size`` in bytes)."""

    url: str
    size: int | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class MediaIssue:
    code: IssueCode
    level: Literal["warn", "blocked"]
    message: str
    index: int | None = None
    """Position of the attachment concerned, when it is one attachment."""
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "message": self.message,
            "index": self.index,
            "url": self.url,
        }


@dataclass(frozen=True)
class MediaCheck:
    issues: tuple[MediaIssue, ...]
    media_types: tuple[str | None, ...]
    """Per attachment: the declared Content-Type, else the one its extension implies."""
    total_bytes: int | None
    """Sum of the known sizes; None when no size is known."""

    @property
    def blocked(self) -> bool:
        return any(issue.level == "blocked" for issue in self.issues)


def media_type_for(url: str) -> str | None:
    """The media type a URL's extension implies (``.../a.JPG?x=1`` -> ``image/jpeg``)."""
    path = urlsplit(url.strip()).path
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return None
    extension = name.rsplit(".", 1)[-1].lower()
    return RELIABLE_TYPES.get(extension) or CARRIER_DEPENDENT_TYPES.get(extension)


def _url_problem(url: str) -> tuple[IssueCode, str] | None:
    text = url.strip()
    if not text or any(ch.isspace() for ch in text):
        return "bad_url", f"{url!r} is not a URL (empty, or it contains spaces)."
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "bad_url", f"{text} is not an http(s) URL; attachments must be public web links."
    host = parts.hostname.lower()
    private = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        private = private or not address.is_global
    if private:
        return "private_url", (
            f"{text} points at a private address the carrier cannot reach; upload the file "
            "somewhere public (for example GHL's media library)."
        )
    return None


def _is_presigned(url: str) -> bool:
    query = urlsplit(url.strip()).query
    return any(key.lower() in _SIGNED_PARAMS for key, _ in parse_qsl(query))


def check_attachments(
    attachments: Sequence[str | Attachment], *, toll_free_sender: bool = False
) -> MediaCheck:
    """Everything wrong or risky about a list of media URLs, without fetching them."""
    items = [a if isinstance(a, Attachment) else Attachment(a) for a in attachments]
    issues: list[MediaIssue] = []
    if len(items) > MAX_ATTACHMENTS:
        issues.append(
            MediaIssue(
                "too_many_attachments",
                "blocked",
                f"{len(items)} attachments; an MMS carries at most {MAX_ATTACHMENTS}. "
                "Remove some or send links instead.",
            )
        )
    media_types: list[str | None] = []
    for index, item in enumerate(items):
        url = item.url

        def warn(code: IssueCode, message: str, index: int = index, url: str = url) -> None:
            issues.append(MediaIssue(code, "warn", message, index, url))

        problem = _url_problem(url)
        if problem is not None:
            issues.append(MediaIssue(problem[0], "blocked", problem[1], index, url))
        by_extension = media_type_for(url)
        declared = item.content_type.split(";")[0].strip().lower() if item.content_type else None
        media_type = declared or by_extension
        media_types.append(media_type)
        if media_type is None:
            warn("unknown_type", f"Can't tell the media type of {url}; make sure it is a JPEG, "
                 "PNG or GIF served with a matching Content-Type.")  # fmt: skip
        elif media_type not in _RELIABLE_MIME:
            warn("carrier_dependent_type", f"{url} is {media_type}; only JPEG, PNG and GIF are "
                 "reliable, other media depend on the carrier and the phone.")  # fmt: skip
        if declared and by_extension and _normal(declared) != _normal(by_extension):
            warn("type_mismatch", f"{url} is served as {declared} but named like {by_extension};"
                 " Twilio rejects media whose Content-Type doesn't match the file.")  # fmt: skip
        if problem is None and _is_presigned(url):
            warn("expiring_url", f"{url} looks like a pre-signed link; make sure it stays valid "
                 "for at least an hour.")  # fmt: skip
        if item.size is not None:
            is_image = media_type is not None and media_type.startswith("image/")
            if not is_image and item.size > NON_IMAGE_WARN_BYTES:
                warn("large_media", f"{url} is {_kb(item.size)}; carriers often drop non-image "
                     "media over 600 KB.")  # fmt: skip
            elif is_image and toll_free_sender and item.size > TOLL_FREE_IMAGE_WARN_BYTES:
                warn("large_media", f"{url} is {_kb(item.size)}; from a toll-free number "
                     "carriers accept about 600 KB to 1 MB.")  # fmt: skip
    sizes = [item.size for item in items if item.size is not None]
    total = sum(sizes) if sizes else None
    if total is not None and total > MAX_TOTAL_BYTES:
        issues.append(
            MediaIssue(
                "too_large",
                "blocked",
                f"The attachments total {_kb(total)}; an MMS carries at most 5 MB. "
                "Shrink them or send a link.",
            )
        )
    return MediaCheck(tuple(issues), tuple(media_types), total)


def _normal(media_type: str) -> str:
    return "image/jpeg" if media_type == "image/jpg" else media_type


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f} KB"
