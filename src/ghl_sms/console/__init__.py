"""``ghl-sms console``: a local web console for the sandbox's phones, conversations,
campaigns and history, served by ghl-sms itself (see ``app``)."""

from ghl_sms.console.app import CONSOLE_LIMITS, create_console_app, serve_console

__all__ = ["CONSOLE_LIMITS", "create_console_app", "serve_console"]
