"""Serving HTTP the same way everywhere: the sandbox, the webhook receiver, MCP over HTTP.

Bind first with :func:`listen` (a one-line :class:`ListenError` for a busy port or a bad
host), then :class:`HttpServer` serves on that socket with the :class:`ServeLimits`
bounds on slow and numerous clients. Imports nothing from the rest of ghl-sms, so the
sandbox can use it. The matching command-line options are in ``ghl_sms._serve.options``.
"""

from typing import TYPE_CHECKING

from ghl_sms._lazy import lazy_exports

if TYPE_CHECKING:
    from ghl_sms._serve._limits import ServeLimits
    from ghl_sms._serve._listen import ListenError, is_loopback, listen, url_of
    from ghl_sms._serve._server import HttpServer
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "ghl_sms._serve._limits": ("ServeLimits",),
            "ghl_sms._serve._listen": ("ListenError", "is_loopback", "listen", "url_of"),
            "ghl_sms._serve._server": ("HttpServer",),
        },
    )

__all__ = ["HttpServer", "ListenError", "ServeLimits", "is_loopback", "listen", "url_of"]
