"""The compose page in a real browser: the live preview follows the typing."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from accounts.models import Account
from tests.browser.conftest import open_logged_in

COMPOSE = "/campaigns/new/"


def test_typing_updates_the_counters(browser: Any, live_server: Any, marketing: Account) -> None:
    page = open_logged_in(browser, live_server, marketing, COMPOSE)

    page.locator("#id_text").press_sequentially("Bonjour")

    # 7 characters, a space and "STOP 36034".
    expect(page.get_by_test_id("units-fr")).to_have_text("18")
    expect(page.get_by_test_id("bubble-fr")).to_have_text("Bonjour STOP 36034")
    expect(page.get_by_test_id("bubble-intl")).to_have_text(f"Bonjour {marketing.unsubscribe_link}")
    expect(page.get_by_test_id("segments-fr")).to_have_text("1")

    page.locator("#id_text").press_sequentially(" à tous")

    expect(page.get_by_test_id("units-fr")).to_have_text("25")


def test_a_message_crossing_160_characters_shows_2_segments(
    browser: Any, live_server: Any, marketing: Account
) -> None:
    page = open_logged_in(browser, live_server, marketing, COMPOSE)
    text = page.locator("#id_text")

    text.fill("a" * 149)  # 149 + " STOP 36034" = 160
    expect(page.get_by_test_id("units-fr")).to_have_text("160")
    expect(page.get_by_test_id("segments-fr")).to_have_text("1")

    text.press("End")
    text.press_sequentially("a")

    expect(page.get_by_test_id("units-fr")).to_have_text("161")
    expect(page.get_by_test_id("segments-fr")).to_have_text("2")
    expect(page.get_by_test_id("advice-mention-fr")).to_contain_text("remove 1 character")


def test_a_marketing_account_cannot_untick_the_mention(
    browser: Any, live_server: Any, marketing: Account
) -> None:
    page = open_logged_in(browser, live_server, marketing, COMPOSE)
    box = page.locator("#id_add_stop_mention")

    expect(box).to_be_checked()
    expect(box).to_be_disabled()
    expect(page.get_by_test_id("stop-locked-reason")).to_be_visible()
    # Even forcing the box off in the page (as a forged request would) changes nothing.
    page.evaluate(
        "() => { const b = document.getElementById('id_add_stop_mention');"
        " b.disabled = false; b.checked = false; }"
    )
    page.locator("#id_text").press_sequentially("Promo")

    expect(page.get_by_test_id("bubble-fr")).to_have_text("Promo STOP 36034")


def test_a_notification_account_can_untick_the_mention(
    browser: Any, live_server: Any, notification: Account
) -> None:
    page = open_logged_in(browser, live_server, notification, COMPOSE)
    page.locator("#id_text").press_sequentially("Votre code : 1234")
    expect(page.get_by_test_id("bubble-fr")).to_have_text("Votre code : 1234 STOP 36034")

    page.locator("#id_add_stop_mention").uncheck()

    expect(page.get_by_test_id("bubble-fr")).to_have_text("Votre code : 1234")
    expect(page.get_by_test_id("units-fr")).to_have_text("17")
    expect(page.get_by_test_id("stop-locked-reason")).to_have_count(0)


def test_a_curly_apostrophe_switches_to_ucs2_and_the_button_brings_gsm7_back(
    browser: Any, live_server: Any, marketing: Account, artifacts: Any
) -> None:
    page = open_logged_in(browser, live_server, marketing, COMPOSE)
    page.locator("#id_recipients").fill("06 12 34 56 78\n+44 7400 123456")
    page.locator("#id_text").press_sequentially("C’est l’été : -20% sur tout !")

    expect(page.get_by_test_id("encoding-fr")).to_have_text("UCS-2")
    expect(page.get_by_test_id("non-gsm-char")).to_have_count(1)
    expect(page.get_by_test_id("recipients-intl")).to_have_text("1")
    expect(page.get_by_test_id("credits-total")).to_have_text("3")  # FR 1 + abroad 2
    page.screenshot(path=str(artifacts / "compose-page.png"), full_page=True)

    page.get_by_test_id("replace-char").first.click()

    expect(page.get_by_test_id("encoding-fr")).to_have_text("GSM-7")
    expect(page.locator("#id_text")).to_have_value("C'est l'été : -20% sur tout !")
    expect(page.get_by_test_id("non-gsm")).to_have_count(0)
    # The page still previews as the user goes on typing after the swap.
    page.locator("#id_text").press("End")
    page.locator("#id_text").press_sequentially("!")
    expect(page.get_by_test_id("bubble-fr")).to_have_text(
        "C'est l'été : -20% sur tout !! STOP 36034"
    )


def test_the_page_works_without_javascript(
    browser: Any, live_server: Any, marketing: Account
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/?next={COMPOSE}")
    page.fill("input[name=username]", marketing.memberships.get(role="owner").user.username)
    page.fill("input[name=password]", "browser-test-pw")
    page.get_by_role("button", name="Log in").click()
    page.locator("#id_text").fill("Sans JavaScript")

    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_test_id("bubble-fr")).to_have_text("Sans JavaScript STOP 36034")
    expect(page.locator("#id_text")).to_have_value("Sans JavaScript")
