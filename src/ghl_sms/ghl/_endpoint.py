"""Where GHL's API lives: a module of its own, so settings can name it without
importing the HTTP client."""

__all__ = ["DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
