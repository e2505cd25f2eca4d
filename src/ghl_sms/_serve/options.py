"""The command-line options every ghl-sms server shares: where to listen, and the bounds."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ghl_sms._serve._limits import ServeLimits

__all__ = ["PORT", "limit_options"]

F = TypeVar("F", bound=Callable[..., Any])

# Any TCP port; 0 asks for a free one (the servers print which).
PORT = click.IntRange(0, 65535)


def limit_options(*, max_connections: int) -> Callable[[F], F]:
    """``--header-timeout``, ``--body-timeout`` and ``--max-connections``, handed to the
    command as one ``limits: ServeLimits`` argument."""
    default = ServeLimits(max_connections=max_connections)
    options = [
        click.option(
            "--max-connections",
            default=default.max_connections,
            show_default=True,
            type=click.IntRange(1, 100_000),
            help="Connections served at once; one more gets 503 and is closed.",
        ),
        _timeout("--header-timeout", default.header_timeout, "headers"),
        _timeout("--body-timeout", default.body_timeout, "body"),
    ]

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def with_limits(
            *args: Any,
            max_connections: int,
            header_timeout: float,
            body_timeout: float,
            **kwargs: Any,
        ) -> Any:
            limits = ServeLimits(
                header_timeout=header_timeout,
                body_timeout=body_timeout,
                max_connections=max_connections,
            )
            return command(*args, limits=limits, **kwargs)

        decorated: Any = with_limits
        for option in reversed(options):
            decorated = option(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate


def _timeout(name: str, default: float, part: str) -> Callable[[F], F]:
    return click.option(
        name,
        default=default,
        show_default=True,
        type=click.FloatRange(0, min_open=True),
        help=f"Seconds a client may take to send a request's {part}, else 408.",
    )
