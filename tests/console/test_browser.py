"""The console in Chromium, over a served embedded sandbox: what a person sees and does.

One console and one browser for the module; each test texts its own contacts, so the
order does not matter (a STOP on Ava's phone only changes Ava's sends).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from support.console import Console, axe_violations, screenshot

T = TypeVar("T")

AVA, BEN, CHLOE, EVE = ("sbxCtReachable000001", "sbxCtSmsDnd000000001",
                        "sbxCtEmailDnd0000001", "sbxCtLandline0000001")  # fmt: skip
HUGO, IVY, JACK, LENA, MILO = ("sbxCtFlorida00000001", "sbxCtTexas0000000001",
                               "sbxCtInternational01", "sbxCtFiltered0000001",
                               "sbxCtNoMms0000000001")  # fmt: skip


def wait(driver: Any, check: Callable[[], T], timeout: float = 10, what: str = "") -> T:
    """Polls ``check`` until it returns something truthy (a missing element is not yet)."""

    def attempt(_: Any) -> T | None:
        try:
            return check()
        except (NoSuchElementException, StaleElementReferenceException):
            return None

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(attempt, what)


def css(driver: Any, selector: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, selector)


def phone(driver: Any, contact_id: str) -> Any:
    return css(driver, f'section.phone[data-contact="{contact_id}"]')


def open_view(driver: Any, console: Console, route: str) -> None:
    driver.get("about:blank")  # a fresh page load (only the hash would change otherwise)
    driver.get(f"{console.url}/#/{route}")
    wait(driver, lambda: css(driver, "#live").text == "live", what="the event stream")


def bubbles(driver: Any, contact_id: str) -> list[Any]:
    return list(phone(driver, contact_id).find_elements(By.CSS_SELECTOR, "li.bubble"))


def test_a_text_sent_from_the_cli_shows_on_the_phone_within_two_seconds(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    open_view(browser, console, "phones")
    wait(browser, lambda: phone(browser, CHLOE))
    result = console.cli("send", "--to", "+14155550112", "--transactional",
                         "Your cleaning is tomorrow at 3pm")  # fmt: skip
    assert result.exit_code == 0, result.output
    sent = time.monotonic()
    wait(browser, lambda: "Your cleaning is tomorrow at 3pm" in phone(browser, CHLOE).text,
         timeout=2, what="the text on Chloe's phone")  # fmt: skip
    assert time.monotonic() - sent <= 2.0
    # The ticks follow the carrier: pending or sent first, then delivered.
    wait(browser, lambda: bubbles(browser, CHLOE)[-1].get_attribute("data-status") == "delivered",
         timeout=8, what="delivered")  # fmt: skip
    assert "delivered" in bubbles(browser, CHLOE)[-1].text
    assert screenshot(browser, tmp_path, "phones").stat().st_size > 10_000


def test_a_reply_typed_on_the_phone_is_in_ghl_sms_inbox(console: Console, browser: Any) -> None:
    open_view(browser, console, "phones")
    box = wait(browser, lambda: phone(browser, HUGO).find_element(By.CSS_SELECTOR, "form input"))
    box.send_keys("Can we move it to Friday?", Keys.ENTER)  # the keyboard alone
    wait(browser, lambda: "Can we move it to Friday?" in phone(browser, HUGO).text)
    inbox = console.cli_json("inbox")
    hugo = next(c for c in inbox["conversations"] if c["contact_id"] == HUGO)
    assert hugo["last_message"] == "Can we move it to Friday?"
    assert hugo["last_message_direction"] == "inbound" and hugo["unread_count"] >= 1


def test_stop_on_the_phone_makes_the_compose_box_refuse_with_the_reason(
    console: Console, browser: Any
) -> None:
    open_view(browser, console, "conversations")
    css(browser, "form.compose input[type=tel]").send_keys("+14155550100")
    css(browser, "form.compose input[type=checkbox]").click()  # not marketing: any hour
    css(browser, "form.compose textarea").send_keys("Your X-ray results are in.")
    send = css(browser, "form.compose button[type=submit]")
    wait(browser, lambda: send.is_enabled() and "Ready to send" in css(browser, ".preview").text)
    assert "Parts" in css(browser, ".preview").text and "GSM" in css(browser, ".preview").text

    compose_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")
    open_view(browser, console, "phones")
    wait(browser, lambda: phone(browser, AVA)).find_element(
        By.XPATH, ".//button[normalize-space()='STOP']"
    ).click()
    wait(browser, lambda: "STOP" in phone(browser, AVA).find_element(By.CSS_SELECTOR, "ol").text)
    browser.close()
    browser.switch_to.window(compose_tab)

    send.click()
    result = wait(browser, lambda: css(browser, ".result p.blocked"))
    assert "Refused" in result.text and "opted out" in result.text
    assert "START" in result.text  # and what would lift it
    # Typing again previews the refusal, and Send stays off.
    css(browser, "form.compose textarea").send_keys(" Call us.")
    wait(browser, lambda: "opted out" in css(browser, ".preview").text)
    assert not send.is_enabled()
    sent = console.cli_json("history", "--to", "+14155550100")
    assert not any("X-ray" in entry["text"] for entry in sent)


def test_a_carrier_failure_set_on_the_panel_is_explained_on_the_phone(
    console: Console, browser: Any
) -> None:
    open_view(browser, console, "phones")
    panel = wait(browser, lambda: css(browser, "aside.panel"))
    Select(wait(browser, lambda: panel.find_element(By.CSS_SELECTOR, "select"))).select_by_value(
        "+447400123456"
    )
    selects = panel.find_elements(By.CSS_SELECTOR, "select")
    Select(selects[1]).select_by_value("undelivered")
    code = panel.find_element(By.CSS_SELECTOR, "input[inputmode=numeric]")
    code.clear()
    code.send_keys("30007")
    panel.find_element(By.XPATH, ".//button[normalize-space()='Apply']").click()
    wait(browser, lambda: "undelivered 30007" in phone(browser, JACK).text)
    result = console.cli("send", "--to", "+447400123456", "--transactional", "Results ready")
    assert result.exit_code == 0, result.output
    failure = wait(browser, lambda: phone(browser, JACK).find_element(By.CSS_SELECTOR, ".failure"),
                   timeout=8)  # fmt: skip
    assert "30007" in failure.text and "Message filtered" in failure.text
    assert "revise the content" in failure.text  # what to do


def _count(driver: Any, name: str) -> int:
    return int(css(driver, f'[data-count="{name}"] dd').text)


def _chart_sent(driver: Any) -> int:
    return int(css(driver, "svg.chart").get_attribute("data-sent"))


def test_a_campaign_moves_live_and_pauses_and_resumes(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    recipients = [BEN, CHLOE, EVE, HUGO, IVY, LENA, MILO, AVA]
    campaign = console.spawn(
        # One at a time, so a pause finds most of them still to send.
        "bulk", "send", "--contacts", ",".join(recipients), "--per-minute", "30", "--workers", "1",
        "--transactional", "--name", "Checkup reminders", "Hi {first_name}, time for a checkup.",
    )  # fmt: skip
    try:
        open_view(browser, console, "campaigns")
        wait(browser, lambda: browser.find_element(By.LINK_TEXT, "Checkup reminders")).click()
        wait(browser, lambda: _count(browser, "sent") >= 1, what="the first send")
        first, first_chart = _count(browser, "sent"), _chart_sent(browser)
        wait(browser, lambda: _count(browser, "sent") > first, what="progress")
        assert _chart_sent(browser) > first_chart or _chart_sent(browser) >= 2  # the chart moves
        skipped = css(browser, "[aria-labelledby=skipped-title]").text
        assert "opted_out" in skipped or "sms_dnd" in skipped  # Ava said STOP; Ben has DND

        browser.find_element(By.XPATH, "//button[normalize-space()='Pause']").click()
        wait(browser, lambda: css(browser, "[data-state]").text == "paused")
        campaign.wait(timeout=30)  # the CLI's run ends with the campaign paused
        paused_at = _count(browser, "sent")
        assert _count(browser, "left") > 0, css(browser, "main").text

        resume = browser.find_element(By.XPATH, "//button[normalize-space()='Resume']")
        wait(browser, lambda: resume.is_enabled())
        resume.click()
        wait(browser, lambda: css(browser, "[data-state]").text in ("running", "completed"))
        wait(browser, lambda: _count(browser, "sent") > paused_at, timeout=15, what="resumed")
        wait(browser, lambda: css(browser, "[data-state]").text == "completed", timeout=40)
        failures = wait(browser, lambda: css(browser, '.failures li[data-code="30007"]'),
                        timeout=10)  # fmt: skip
        assert "Message filtered" in failures.text and "What to do" in failures.text
        assert _chart_sent(browser) >= 5
        browser.set_window_size(1400, 1700)  # the chart and the failures explained, too
        screenshot(browser, tmp_path, "campaign", docs=True)
        browser.set_window_size(1400, 1000)
        open_view(browser, console, "phones")  # every phone got its text (or didn't)
        wait(browser, lambda: "time for a checkup" in phone(browser, MILO).text)
        screenshot(browser, tmp_path, "phones", docs=True)
    finally:
        if campaign.poll() is None:
            campaign.kill()
            campaign.wait()


@pytest.mark.parametrize("route", ["phones", "conversations", "campaigns", "history"])
def test_each_view_has_no_serious_accessibility_violations(
    console: Console, browser: Any, tmp_path: Path, route: str
) -> None:
    open_view(browser, console, route)
    ready = {
        "phones": "section.phone li",
        "conversations": "ul.inbox a.conv",
        "campaigns": "tbody tr",
        "history": "tbody tr",
    }[route]
    wait(browser, lambda: css(browser, ready))
    if route == "conversations":
        css(browser, ready).click()
        wait(browser, lambda: css(browser, "ol.thread li"))
    violations = axe_violations(browser)
    screenshot(browser, tmp_path, route)
    assert violations == [], [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations
    ]


def test_the_views_work_from_the_keyboard(console: Console, browser: Any) -> None:
    open_view(browser, console, "phones")
    # A fresh load: Chromium keeps the sequential-focus starting point of earlier tests
    # (a blur does not reset it), so tabbing would start wherever they left off.
    browser.refresh()
    wait(browser, lambda: phone(browser, CHLOE))
    reached = []
    for _ in range(5):  # the skip link, then the navigation, in order
        ActionChains(browser).send_keys(Keys.TAB).perform()
        reached.append(browser.switch_to.active_element.text)
    assert reached == ["Skip to content", "Phones", "Conversations", "Campaigns", "History"]
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser, lambda: css(browser, "h1").text == "History")
