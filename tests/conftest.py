"""Shared fixtures: two tenants (A and B), their owners' logged-in clients, support staff.

Markers `postgres` and `redis` declare a test's real service. Where the service is
missing the test is skipped on a developer's machine, but fails under CI=true: CI must
never go green by skipping what it is there to prove.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test import Client

from accounts.models import Account, AccountType
from tests.builders import make_account, make_user

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The live server takes Kannel's bursts of report and reply calls: Django's listen
# backlog of 10 drops connections beyond it (the caller waits for TCP to try again, or
# gives up), which a production server (gunicorn: 2048) would not.
ThreadedWSGIServer.request_queue_size = 1024
# A database of its own (15) so tests never touch a running platform's queues.
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _missing_service(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a test that needs a service fails instead of skipping)")
    pytest.skip(reason)


def redis_available(url: str = REDIS_TEST_URL) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            _missing_service(
                "needs PostgreSQL: set DATABASE_URL=postgres://… (running on " + engine + ")"
            )
    if item.get_closest_marker("kannel"):
        from tests.kannel_harness import KannelMissing, require_binaries

        try:
            require_binaries()
        except KannelMissing as error:
            _missing_service(str(error))
    if item.get_closest_marker("redis") and not redis_available():
        _missing_service(f"needs Redis at {REDIS_TEST_URL}")


@pytest.fixture
def account_a(db: Any) -> Account:
    return make_account(slug="tenant-a", name="Tenant A", credits=1000)


@pytest.fixture
def account_b(db: Any) -> Account:
    return make_account(slug="tenant-b", name="Tenant B", credits=1000)


@pytest.fixture
def notification_account(db: Any) -> Account:
    return make_account(
        slug="tenant-n", name="Tenant N", credits=1000, account_type=AccountType.NOTIFICATION
    )


def _client_for(account: Account) -> Client:
    client = Client()
    client.force_login(account.memberships.get(role="owner").user)
    return client


@pytest.fixture
def client_a(account_a: Account) -> Client:
    return _client_for(account_a)


@pytest.fixture
def client_b(account_b: Account) -> Client:
    return _client_for(account_b)


@pytest.fixture
def client_n(notification_account: Account) -> Client:
    return _client_for(notification_account)


@pytest.fixture
def staff_user(db: Any) -> Any:
    return make_user("support-agent", staff=True)


@pytest.fixture
def staff_client(staff_user: Any) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture(autouse=True)
def _intake_lets_go_of_its_connection() -> Iterator[None]:
    """The inbound webhook's group-commit thread (blacklist/intake.py) outlives a test:
    it closes its database connection after each, so the test database can be flushed
    and dropped."""
    yield
    from blacklist.intake import intake

    intake.close_connection()


@pytest.fixture(autouse=True)
def _background_tasks_inline(settings: Any) -> None:
    """Background work runs inline in tests, so a test sees its result at once."""
    settings.SMS_TASKS_IN_THREAD = False


@pytest.fixture(autouse=True)
def _no_callback_listeners_from_earlier_tests() -> None:
    # Which accounts listen is kept per process; each test's database starts afresh.
    from callbacks.selectors import forget

    forget()
