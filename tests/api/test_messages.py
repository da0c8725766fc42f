"""`/api/v1/messages`: the preview, one SMS under the account's rules, reading and
listing, each refusal changing nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Account, CreditEntry, EntryKind
from accounts.services import credits_debit
from blacklist.models import BlacklistSource
from blacklist.services import blacklist_numbers
from campaigns.lifecycle import tick
from campaigns.models import Message, MessageState
from campaigns.preview import compose_one, composition_json
from tests.api.conftest import error_of

PARIS = ZoneInfo("Europe/Paris")
# A Monday afternoon: inside the French sending hours.
OPEN = datetime(2026, 11, 30, 15, 0, tzinfo=PARIS)
SUNDAY = datetime(2026, 11, 29, 15, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _monday_afternoon() -> Any:
    with time_machine.travel(OPEN, tick=False):
        yield


def unchanged(account: Account, balance: int = 1000) -> None:
    account.refresh_from_db()
    assert account.credit_balance == balance
    assert not Message.objects.exists()


# -- preview ----------------------------------------------------------------------------


def test_the_preview_is_the_compose_previews_json(
    api_a: APIClient, client_a: Client, account_a: Account
) -> None:
    text = "Soldes d’été : -20 % sur tout 🎉"
    response = api_a.post("/api/v1/messages/preview", {"to": "06 12 34 56 78", "text": text})

    assert response.status_code == 200
    body = response.json()
    expected = composition_json(
        compose_one(account_a, text, region="FR"), to="+33612345678", region="FR"
    )
    assert body == expected
    page = client_a.post(
        "/campaigns/preview.json",
        {"to": "0612345678", "text": text},
        content_type="application/json",
    ).json()
    assert page["messages"][0] == body
    assert body["mention"] == "STOP 36034"
    assert body["text_sent"].endswith(" STOP 36034")
    assert not Message.objects.exists()


def test_the_preview_of_an_international_number_carries_the_unsubscribe_link(
    api_a: APIClient, account_a: Account
) -> None:
    body = api_a.post("/api/v1/messages/preview", {"to": "+447400123456", "text": "Hi"}).json()

    assert body["region"] == "GB"
    assert body["mention"] == account_a.unsubscribe_link
    assert body["credits"] == 2  # the default rate of other countries


def test_a_marketing_accounts_preview_without_the_mention_is_refused(api_a: APIClient) -> None:
    response = api_a.post(
        "/api/v1/messages/preview", {"to": "0612345678", "text": "Hi", "stop_mention": False}
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "stop_mention_required"


def test_a_notification_accounts_preview_can_leave_the_mention_off(api_n: APIClient) -> None:
    body = api_n.post(
        "/api/v1/messages/preview", {"to": "0612345678", "text": "RDV", "stop_mention": False}
    ).json()

    assert (body["text_sent"], body["mention"]) == ("RDV", None)


# -- sending ------------------------------------------------------------------------------


def test_a_message_is_composed_debited_once_queued_and_sent(
    api_a: APIClient, account_a: Account, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(
            "/api/v1/messages", {"to": "06 12 34 56 78", "text": "Vos croissants sont prêts !"}
        )

    assert response.status_code == 201
    body = response.json()
    assert body["to"] == "+33612345678"
    assert body["text"] == "Vos croissants sont prêts ! STOP 36034"
    assert (body["encoding"], body["segments"], body["credits"]) == ("UCS-2", 1, 1)  # ê
    assert body["status"] == "queued"
    assert body["sender"] == ""  # the account has no default sender ID
    assert body["campaign"] is None and body["not_before"] is None
    message = Message.objects.get(pk=body["id"])
    assert message.campaign is None and message.marketing
    assert message.state in {MessageState.SENT, MessageState.DELIVERED}  # the local gateway
    entry = CreditEntry.objects.get(reference=f"message:{message.pk}:send")
    assert (entry.amount, entry.kind) == (-1, EntryKind.MESSAGE)
    account_a.refresh_from_db()
    assert account_a.credit_balance == 999


def test_the_sender_defaults_to_the_accounts_and_can_be_chosen(
    api_a: APIClient, account_a: Account
) -> None:
    account_a.default_sender_id = "PAUL"
    account_a.save()

    default = api_a.post("/api/v1/messages", {"to": "0612345678", "text": "a"}).json()
    chosen = api_a.post(
        "/api/v1/messages", {"to": "0612345678", "text": "b", "sender": "BOUTIQUE"}
    ).json()

    assert (default["sender"], chosen["sender"]) == ("PAUL", "BOUTIQUE")


def test_a_blacklisted_number_is_refused_with_that_reason(
    api_a: APIClient, account_a: Account
) -> None:
    blacklist_numbers(account=account_a, numbers=["+33612345678"], source=BlacklistSource.MANUAL)

    response = api_a.post("/api/v1/messages", {"to": "06 12 34 56 78", "text": "Promo"})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "number_blacklisted"
    assert "+33612345678" in error["message"] and "Blacklist" in error["message"]
    assert error["details"]["phone_number"] == "+33612345678"
    unchanged(account_a)


def test_another_accounts_blacklist_does_not_refuse_the_number(
    api_a: APIClient, account_b: Account
) -> None:
    blacklist_numbers(account=account_b, numbers=["+33612345678"], source=BlacklistSource.MANUAL)

    assert api_a.post("/api/v1/messages", {"to": "0612345678", "text": "x"}).status_code == 201


def test_a_marketing_account_asking_for_no_stop_mention_is_refused_not_corrected(
    api_a: APIClient, account_a: Account
) -> None:
    response = api_a.post(
        "/api/v1/messages", {"to": "0612345678", "text": "Promo", "stop_mention": False}
    )

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "stop_mention_required"
    assert "Marketing" in error["message"]
    unchanged(account_a)


def test_a_notification_account_may_send_without_the_mention(
    api_n: APIClient, notification_account: Account
) -> None:
    body = api_n.post(
        "/api/v1/messages", {"to": "0612345678", "text": "RDV demain 9h", "stop_mention": False}
    ).json()

    assert body["text"] == "RDV demain 9h"
    assert Message.objects.get().marketing is False


def test_a_notification_account_follows_its_setting_by_default(
    api_n: APIClient, notification_account: Account
) -> None:
    notification_account.add_stop_mention = False
    notification_account.save()

    assert api_n.post("/api/v1/messages", {"to": "0612345678", "text": "RDV"}).json()["text"] == (
        "RDV"
    )


def test_too_few_credits_is_a_402_with_the_figures_and_nothing_sent(
    api_a: APIClient, account_a: Account
) -> None:
    credits_debit(account=account_a, amount=1000, kind=EntryKind.ADJUSTMENT, reference="empty")

    response = api_a.post("/api/v1/messages", {"to": "+447400123456", "text": "Hello"})

    assert response.status_code == 402
    error = error_of(response)
    assert error["code"] == "insufficient_credits"
    assert error["details"] == {"needed": 2, "available": 0}
    unchanged(account_a, balance=0)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to": "12", "text": "x"}, "to"),
        ({"to": "", "text": "x"}, "to"),
        ({"text": "x"}, "to"),
        ({"to": "0612345678", "text": "   "}, "text"),
        ({"to": "0612345678", "text": "x" * 1601}, "text"),
        ({"to": "0612345678", "text": "x", "sender": "a b"}, "sender"),
        ({"to": "0612345678", "text": "x", "send_at": "tomorrow"}, "send_at"),
        ({"to": "0612345678", "text": "x", "stop_mention": "maybe"}, "stop_mention"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_changes_nothing(
    api_a: APIClient, account_a: Account, payload: dict[str, Any], field: str
) -> None:
    response = api_a.post("/api/v1/messages", payload)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["details"]) == [field]
    unchanged(account_a)


def test_a_send_time_in_the_past_is_refused(api_a: APIClient, account_a: Account) -> None:
    response = api_a.post(
        "/api/v1/messages",
        {"to": "0612345678", "text": "x", "send_at": "2026-11-30T10:00:00+01:00"},
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "send_at_in_the_past"
    unchanged(account_a)


def test_a_body_that_is_not_json_is_a_parse_error(api_a: APIClient) -> None:
    response = api_a.generic("POST", "/api/v1/messages", "{nope", content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


# -- later: send_at and the sending hours -----------------------------------------------------


def test_a_scheduled_message_waits_for_its_time_then_the_tick_sends_it(
    api_a: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        body = api_a.post(
            "/api/v1/messages",
            {"to": "0612345678", "text": "Rappel", "send_at": "2026-11-30T17:30:00+01:00"},
        ).json()
    assert callbacks == []  # no task now, and no far-future one
    assert body["not_before"] == "2026-11-30T17:30:00+01:00"
    assert body["credits"] == 1  # reserved now

    with django_capture_on_commit_callbacks(execute=True):
        tick()
    assert Message.objects.get().state == MessageState.QUEUED

    with (
        time_machine.travel(datetime(2026, 11, 30, 17, 30, 5, tzinfo=PARIS), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        tick()
    assert Message.objects.get().state in {MessageState.SENT, MessageState.DELIVERED}


def test_a_marketing_message_to_france_on_a_sunday_waits_for_monday_8am(
    api_a: APIClient,
) -> None:
    with time_machine.travel(SUNDAY, tick=False):
        body = api_a.post("/api/v1/messages", {"to": "0612345678", "text": "Promo"}).json()

    assert body["not_before"] == "2026-11-30T08:00:00+01:00"


def test_a_notification_message_or_one_abroad_leaves_on_a_sunday(
    api_a: APIClient, api_n: APIClient
) -> None:
    with time_machine.travel(SUNDAY, tick=False):
        abroad = api_a.post("/api/v1/messages", {"to": "+447400123456", "text": "Sale"}).json()
        notice = api_n.post("/api/v1/messages", {"to": "0612345678", "text": "RDV"}).json()

    assert abroad["not_before"] is None and notice["not_before"] is None


# -- reading ------------------------------------------------------------------------------


def test_a_message_is_read_back_by_its_account_only(api_a: APIClient, api_b: APIClient) -> None:
    body = api_a.post("/api/v1/messages", {"to": "0612345678", "text": "x"}).json()

    assert api_a.get(f"/api/v1/messages/{body['id']}").json() == body
    other = api_b.get(f"/api/v1/messages/{body['id']}")
    assert other.status_code == 404
    assert error_of(other)["code"] == "not_found"


def test_the_list_is_the_accounts_newest_first_and_filters(
    api_a: APIClient, api_b: APIClient, account_a: Account
) -> None:
    first = api_a.post("/api/v1/messages", {"to": "0612345678", "text": "one"}).json()
    with time_machine.travel(datetime(2026, 11, 30, 16, 0, tzinfo=PARIS), tick=False):
        second = api_a.post("/api/v1/messages", {"to": "0798765432", "text": "two"}).json()
    api_b.post("/api/v1/messages", {"to": "0612345678", "text": "theirs"})
    Message.objects.filter(pk=first["id"]).update(state=MessageState.DELIVERED)

    def ids(**query: str) -> list[int]:
        response = api_a.get("/api/v1/messages", query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [second["id"], first["id"]]
    assert ids(status="delivered") == [first["id"]]
    assert ids(to="07 98 76 54 32") == [second["id"]]
    assert ids(to="not a number") == []
    assert ids(created_after="2026-11-30T15:30:00+01:00") == [second["id"]]
    assert ids(created_before="2026-11-30T15:30:00+01:00") == [first["id"]]
    assert api_a.get("/api/v1/messages", {"status": "lost"}).status_code == 422
    assert len(api_b.get("/api/v1/messages").json()["results"]) == 1


def test_the_browser_session_sends_with_its_csrf_token(account_a: Account) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(account_a.memberships.get().user)
    client.get("/account/api/")  # sets the CSRF cookie

    response = client.post(
        "/api/v1/messages",
        {"to": "0612345678", "text": "x"},
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )

    assert response.status_code == 201
