"""The loopback redirect of `ghl-sms login`: one listener on 127.0.0.1 that ignores
stray requests, refuses a foreign state or a refusal, and gives up after its timeout;
and a pasted code or redirect URL."""

from __future__ import annotations

import threading

import httpx2
import pytest

from ghl_sms.cli._loopback import CallbackError, LoopbackListener, code_from_paste


def test_the_listener_ignores_strays_and_returns_the_code() -> None:
    with LoopbackListener() as listener:
        assert listener.redirect_uri.startswith("http://127.0.0.1:")
        thread_statuses: list[int] = []

        def browse() -> None:
            with httpx2.Client(base_url=f"http://127.0.0.1:{listener.port}") as browser:
                for path in ("/favicon.ico", "/callback", "/callback?code=abc123&state=s1"):
                    thread_statuses.append(browser.get(path).status_code)

        thread = threading.Thread(target=browse)
        thread.start()
        assert listener.wait(timeout=30, state="s1") == "abc123"
        thread.join(timeout=30)
    assert thread_statuses == [404, 400, 200]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("code=abc&state=other", "state"), ("error=access_denied", "refused")],
)
def test_a_foreign_state_or_a_refusal_ends_the_wait(query: str, expected: str) -> None:
    with LoopbackListener() as listener:
        thread = threading.Thread(
            target=lambda: httpx2.get(f"{listener.redirect_uri}?{query}", timeout=30)
        )
        thread.start()
        with pytest.raises(CallbackError, match=expected):
            listener.wait(timeout=30, state="mine")
        thread.join(timeout=30)


def test_no_redirect_times_out() -> None:
    with LoopbackListener() as listener, pytest.raises(TimeoutError):
        listener.wait(timeout=0.05, state=None)


@pytest.mark.parametrize(
    "pasted",
    [
        "abc123",
        "  abc123\n",
        "http://127.0.0.1/callback?code=abc123",
        "http://127.0.0.1:9/callback?state=s&code=abc123",
        "code=abc123",
    ],
)
def test_a_pasted_code_or_url(pasted: str) -> None:
    assert code_from_paste(pasted, "s") == "abc123"


@pytest.mark.parametrize("pasted", ["", "two words", "http://127.0.0.1/callback", "a=b"])
def test_a_paste_that_is_not_a_code(pasted: str) -> None:
    with pytest.raises(CallbackError):
        code_from_paste(pasted)
