"""API fixtures: a key for each tenant and clients that send it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Account
from accounts.services import api_key_create


def key_for(account: Account, name: str = "test key") -> str:
    owner = account.memberships.get(role="owner").user
    _key, raw = api_key_create(account=account, name=name, created_by=owner)
    return raw


def client_with_key(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    # Throttle counts live in the cache; each test starts with none.
    cache.clear()


@pytest.fixture
def key_a(account_a: Account) -> str:
    return key_for(account_a)


@pytest.fixture
def key_b(account_b: Account) -> str:
    return key_for(account_b)


@pytest.fixture
def api_a(key_a: str) -> APIClient:
    return client_with_key(key_a)


@pytest.fixture
def api_b(key_b: str) -> APIClient:
    return client_with_key(key_b)


@pytest.fixture
def api_n(notification_account: Account) -> APIClient:
    return client_with_key(key_for(notification_account))


def error_of(response: Any) -> dict[str, Any]:
    """The `error` object of the one error shape, checked to have its three keys."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much schemathesis generated, for the record (README, CI logs)."""
    import sys

    test_schema_fuzz = sys.modules.get("tests.api.test_schema_fuzz")
    if test_schema_fuzz is not None and test_schema_fuzz.CASES:
        operations = len(set(test_schema_fuzz.CASES))
        terminalreporter.write_line(
            f"schemathesis: {len(test_schema_fuzz.CASES)} generated requests "
            f"over {operations} operations"
        )
