"""Playwright driving Debian's headless Chromium against the live test server.

Chromium comes from the Debian package (`.ci/run` installs it), never from a browser
download. Missing Chromium skips these tests on a developer's machine and fails them
under CI=true.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Account, AccountType
from accounts.services import rate_set
from tests.builders import make_account
from tests.conftest import _missing_service

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make around it are still synchronous, one at a time.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "browser-test-pw"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _missing_service(f"needs Chromium at {CHROMIUM} (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _account(slug: str, account_type: AccountType) -> Account:
    # Transactional tests start from flushed tables: put the default rates back.
    rate_set(region="FR", credits_per_segment=1, actor=None)
    rate_set(region="ZZ", credits_per_segment=2, actor=None)
    account = make_account(slug=slug, credits=5000, account_type=account_type)
    owner = account.memberships.get(role="owner").user
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    return account


@pytest.fixture
def marketing(transactional_db: Any) -> Account:
    return _account("browser-marketing", AccountType.MARKETING)


@pytest.fixture
def notification(transactional_db: Any) -> Account:
    return _account("browser-notification", AccountType.NOTIFICATION)


def open_logged_in(browser: Any, live_server: Any, account: Account, path: str) -> Any:
    """A fresh browser context, logged in through the real login page, at `path`."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/?next={path}")
    page.fill("input[name=username]", account.memberships.get(role="owner").user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{path}")
    return page
