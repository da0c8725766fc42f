"""`Idempotency-Key`: a retry gets the first answer and sends nothing more; the same key
with another body is refused; exact under concurrent retries on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Account, CreditEntry, EntryKind, IdempotencyRecord
from accounts.services import credits_add, credits_debit
from campaigns.models import Message
from tests.api.conftest import client_with_key, error_of, key_for

SEND = {"to": "0612345678", "text": "Votre commande est prête"}


def test_a_retry_with_the_same_key_gets_the_first_answer_and_sends_nothing_more(
    api_a: APIClient, account_a: Account
) -> None:
    first = api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "order-42"})
    retry = api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "order-42"})

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.MESSAGE).count() == 1
    account_a.refresh_from_db()
    assert account_a.credit_balance == 999


def test_the_same_key_with_another_body_is_refused(api_a: APIClient, account_a: Account) -> None:
    api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "k1"})

    response = api_a.post(
        "/api/v1/messages", {**SEND, "text": "Autre chose"}, headers={"Idempotency-Key": "k1"}
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert Message.objects.count() == 1
    account_a.refresh_from_db()
    assert account_a.credit_balance == 999


def test_keys_belong_to_their_account(api_a: APIClient, api_b: APIClient) -> None:
    api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "shared"})
    theirs = api_b.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "shared"})

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert Message.objects.count() == 2


def test_a_refusal_of_the_service_is_the_first_answer_too(
    api_a: APIClient, account_a: Account
) -> None:
    credits_debit(account=account_a, amount=1000, kind=EntryKind.ADJUSTMENT, reference="x")
    refused = api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "k2"})
    credits_add(account=account_a, amount=10, kind=EntryKind.PURCHASE, reference="topup")

    retry = api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "k2"})

    assert (refused.status_code, retry.status_code) == (402, 402)
    assert retry.json() == refused.json()
    assert not Message.objects.exists()
    fresh = api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "k3"})
    assert fresh.status_code == 201


def test_invalid_input_is_not_remembered(api_a: APIClient) -> None:
    key = {"Idempotency-Key": "k"}
    bad = api_a.post("/api/v1/messages", {"to": "12", "text": "x"}, headers=key)
    good = api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "k"})

    assert (bad.status_code, good.status_code) == (422, 201)


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé", "two words"])
def test_an_unreadable_key_is_refused(api_a: APIClient, key: str) -> None:
    response = api_a.post("/api/v1/messages", SEND, headers={"Idempotency-Key": key})

    assert response.status_code == 400
    assert error_of(response)["code"] == "idempotency_key_invalid"
    assert not Message.objects.exists()
    assert not IdempotencyRecord.objects.exists()


THREADS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_send_once_and_all_get_the_first_answer(db: Any) -> None:
    from tests.builders import make_account

    account = make_account(slug="race", credits=100)
    raw = key_for(account)
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, dict[str, Any], bool]] = []
    errors: list[BaseException] = []

    def retry() -> None:
        try:
            client = client_with_key(raw)
            barrier.wait()
            response = client.post("/api/v1/messages", SEND, headers={"Idempotency-Key": "same"})
            answers.append(
                (response.status_code, response.json(), "Idempotent-Replayed" in response)
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {status for status, _body, _replayed in answers} == {201}
    bodies = {str(body) for _status, body, _replayed in answers}
    assert len(bodies) == 1
    assert sum(1 for *_rest, replayed in answers if not replayed) == 1
    assert Message.objects.filter(account=account).count() == 1
    assert CreditEntry.objects.filter(account=account, kind=EntryKind.MESSAGE).count() == 1
    account.refresh_from_db()
    assert account.credit_balance == 99
