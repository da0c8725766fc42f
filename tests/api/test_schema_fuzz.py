"""schemathesis against the live schema: every operation of /api/schema/ gets generated
requests (valid and invalid) through the WSGI application, authenticated with a real
key; no answer may be a 5xx or stray from the schema (status code, content type,
headers, body). Deterministic (derandomised) and bounded so `make test` stays quick."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from accounts.models import Account
from blacklist.models import BlacklistSource
from blacklist.services import blacklist_numbers
from tests.api.conftest import key_for

EXAMPLES_PER_OPERATION = 12
CASES: list[str] = []


@pytest.fixture
def fuzz_key(account_a: Account, settings: Any) -> str:
    settings.SMS_API_RATE = "1000000/min"
    settings.SMS_API_SEND_RATE = "1000000/min"
    # Something to find behind the ids the generator tries.
    blacklist_numbers(account=account_a, numbers=["+33600000001"], source=BlacklistSource.API)
    return key_for(account_a)


@pytest.fixture(autouse=True)
def _keep_the_test_transactions_connection() -> Iterator[None]:
    # The requests run in this test's transaction: Django's own test client keeps the
    # connection open the same way (closing it would end the transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# Django's WSGI handler itself (smsplatform.wsgi also runs the start-up checks, which
# refuse the tests' DEBUG-off default secret). The schema is the one the app serves.
APPLICATION = get_wsgi_application()
# Schema-valid data may still be refused by a documented rule: too few credits (402), a
# state that forbids it (409), a field the schema cannot express (a string that is no
# phone number) or a business rule (422). Everything else a valid request gets is a 2xx
# or a 404 for an id that is not the account's.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "402", "403", "404", "409", "422", "429"]
            }
        },
        "generation": {"deterministic": True, "max-examples": EXAMPLES_PER_OPERATION},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APPLICATION, config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_no_server_error_and_answers_the_schema_describes(
    case: Any, fuzz_key: str
) -> None:
    CASES.append(case.operation.label)
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_key}"})
