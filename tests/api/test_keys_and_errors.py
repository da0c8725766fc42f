"""API keys (shown once, hashed, revoked at once, last use), the session with CSRF, the
one error shape, throttling per key, the schema and its documentation pages."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account, ApiKey, Membership, Role
from tests.api.conftest import client_with_key, error_of
from tests.builders import make_user


def test_a_new_key_is_shown_once_and_only_its_hash_is_kept(
    client_a: Client, account_a: Account
) -> None:
    created = client_a.post("/account/api/", {"name": "online shop"})

    assert created.status_code == 200
    raw = created.context["new_secret"]
    assert raw.startswith("smsk_") and raw in created.content.decode()
    key = ApiKey.objects.get(account=account_a)
    assert key.name == "online shop"
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {key.prefix, key.key_hash, key.display}
    assert key.created_by == account_a.memberships.get().user
    again = client_a.get("/account/api/")
    assert raw not in again.content.decode()
    assert key.display in again.content.decode()


def test_a_key_authenticates_as_its_account(account_a: Account) -> None:
    client = Client()
    client.force_login(account_a.memberships.get().user)
    raw = client.post("/account/api/", {"name": "k"}).context["new_secret"]

    response = client_with_key(raw).get("/api/v1/balance")

    assert response.status_code == 200
    assert response.json() == {"balance": 1000}


def test_a_member_who_is_not_owner_cannot_create_or_revoke_keys(
    account_a: Account, key_a: str
) -> None:
    member = make_user("a-member")
    Membership.objects.create(user=member, account=account_a, role=Role.MEMBER)
    client = Client()
    client.force_login(member)

    client.post("/account/api/", {"name": "mine"})
    client.post(f"/account/api/keys/{ApiKey.objects.get().pk}/revoke/")

    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None
    assert "Revoke" not in client.get("/account/api/").content.decode()


def test_a_revoked_key_is_refused_at_once(client_a: Client, api_a: APIClient) -> None:
    assert api_a.get("/api/v1/balance").status_code == 200
    key = ApiKey.objects.get()

    client_a.post(f"/account/api/keys/{key.pk}/revoke/")

    response = api_a.get("/api/v1/balance")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by is not None


def test_another_accounts_owner_cannot_revoke_a_key(client_b: Client, key_a: str) -> None:
    key = ApiKey.objects.get()

    response = client_b.post(f"/account/api/keys/{key.pk}/revoke/")

    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_no_key_is_a_401_in_the_error_shape_with_the_bearer_challenge(db: Any) -> None:
    response = APIClient().get("/api/v1/balance")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert error_of(response)["code"] == "not_authenticated"


def test_an_unknown_or_malformed_key_is_a_401(db: Any) -> None:
    for header in ("Bearer smsk_nope_nope", "Bearer two words", "Bearer " + "x" * 500):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/balance")
        assert response.status_code == 401, header
        assert error_of(response)["code"] == "authentication_failed"


def test_last_use_is_written_at_most_once_a_minute(api_a: APIClient) -> None:
    with time_machine.travel("2026-11-30 10:00:00+01:00", tick=False):
        api_a.get("/api/v1/balance")
        first = ApiKey.objects.get().last_used_at
        assert first == timezone.now()
    with time_machine.travel("2026-11-30 10:00:40+01:00", tick=False):
        api_a.get("/api/v1/balance")
        assert ApiKey.objects.get().last_used_at == first
    with time_machine.travel("2026-11-30 10:01:05+01:00", tick=False):
        api_a.get("/api/v1/balance")
        assert ApiKey.objects.get().last_used_at == first + timedelta(seconds=65)


def test_the_browser_session_works_and_unsafe_methods_need_the_csrf_token(
    account_a: Account,
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(account_a.memberships.get().user)

    assert client.get("/api/v1/balance").json() == {"balance": 1000}
    refused = client.post(
        "/api/v1/messages/preview",
        {"to": "0612345678", "text": "Hi"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "permission_denied"
    assert "CSRF" in error_of(refused)["message"]


def test_a_user_without_an_account_is_refused(db: Any) -> None:
    client = Client()
    client.force_login(make_user("lonely"))

    response = client.get("/api/v1/balance")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_throttling_counts_per_key(settings: Any, api_a: APIClient, api_b: APIClient) -> None:
    settings.SMS_API_RATE = "3/min"
    for _ in range(3):
        assert api_a.get("/api/v1/balance").status_code == 200

    throttled = api_a.get("/api/v1/balance")

    assert throttled.status_code == 429
    error = error_of(throttled)
    assert error["code"] == "throttled"
    assert error["details"]["retry_after"] >= 1
    assert throttled["Retry-After"] == str(error["details"]["retry_after"])
    assert api_b.get("/api/v1/balance").status_code == 200


def test_an_unknown_api_path_is_a_json_404(api_a: APIClient) -> None:
    response = api_a.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_the_openapi_schema_and_its_documentation_are_served_without_a_cdn(db: Any) -> None:
    schema = Client().get("/api/schema/?format=json")
    docs = Client().get("/api/docs/")

    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/balance" in document["paths"]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()


def test_every_operation_has_a_summary_tags_and_documents_its_errors(db: Any) -> None:
    document = Client().get("/api/schema/?format=json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            assert operation.get("summary"), name
            assert operation.get("tags"), name
            assert {"400", "401", "404", "429"} <= set(operation["responses"]), name
