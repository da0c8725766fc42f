"""The public unsubscribe page: the browser's language, a real recipient blacklisted
with the confirmation and its credit, the same answer for any other number with nothing
done, CSRF, rate limits per address and per number."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditEntry, EntryKind
from blacklist.models import BlacklistEntry, BlacklistSource
from campaigns.dispatch import _remember_sent
from campaigns.models import Message, MessageState
from tests.builders import make_account

NUMBER = "+447400123456"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    cache.clear()


@pytest.fixture
def shop(db: Any) -> Any:
    account = make_account(slug="shop", name="Shop & Co", credits=10)
    sent = Message.objects.create(
        account=account, phone_number=NUMBER, region="GB", text="Sale ns.fr/x", segments=1,
        credits=2, state=MessageState.DELIVERED, sent_at=timezone.now(),
    )  # fmt: skip
    _remember_sent([sent.pk])  # as dispatch does
    return account


def url(account: Any) -> str:
    return reverse("unsubscribe", args=[account.unsubscribe_code])


def submit(client: Client, account: Any, number: str, capture: Any, **headers: str) -> Any:
    with capture(execute=True):
        return client.post(url(account), {"number": number}, **headers)


def test_the_link_opens_the_page_in_the_browsers_language(shop: Any) -> None:
    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").get(f"/{shop.unsubscribe_code}")
    french = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").get(f"/{shop.unsubscribe_code}")

    assert english.status_code == french.status_code == 200
    assert "Stop SMS from Shop &amp; Co" in english.content.decode()
    assert "Ne plus recevoir de SMS de Shop &amp; Co" in french.content.decode()
    assert Client().get(f"/{shop.unsubscribe_code.upper()}").status_code == 200
    assert Client().get("/zzzzzz").status_code == 404


def test_a_recipient_is_blacklisted_with_the_confirmation_and_its_credit(
    shop: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    answer = submit(client, shop, "+44 7400 123456", django_capture_on_commit_callbacks)

    assert answer.status_code == 200
    entry = BlacklistEntry.objects.get()
    assert (entry.account, entry.phone_number, entry.source) == (shop, NUMBER, BlacklistSource.WEB)
    assert entry.confirmation.text == "You will no longer receive SMS from Shop & Co. Unsubscribed."
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1


def test_a_national_number_is_read_with_the_browsers_country(
    shop: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    submit(
        client, shop, "07400 123456", django_capture_on_commit_callbacks,
        HTTP_ACCEPT_LANGUAGE="en-GB",
    )  # fmt: skip

    assert BlacklistEntry.objects.get().phone_number == NUMBER


def test_any_other_number_gets_the_same_answer_and_nothing_happens(
    shop: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    other = make_account(slug="other", credits=10)
    theirs = Message.objects.create(
        account=other, phone_number="+447400999999", region="GB", text="x", segments=1,
        credits=2, state=MessageState.SENT, sent_at=timezone.now(),
    )  # fmt: skip
    _remember_sent([theirs.pk])
    known = submit(client, shop, NUMBER, django_capture_on_commit_callbacks)
    cache.clear()
    stranger = submit(client, shop, "+447400000001", django_capture_on_commit_callbacks)
    someone_elses = submit(client, shop, "+447400999999", django_capture_on_commit_callbacks)

    def text(answer: Any) -> str:
        return answer.content.decode()

    assert known.status_code == stranger.status_code == someone_elses.status_code == 200
    assert text(known) == text(stranger) == text(someone_elses)
    assert list(BlacklistEntry.objects.values_list("phone_number", flat=True)) == [NUMBER]
    assert Message.objects.filter(campaign=None, marketing=False).count() == 1  # one SMS


def test_a_bad_number_is_explained_and_nothing_happens(shop: Any, client: Client) -> None:
    answer = client.post(url(shop), {"number": "hello"})

    assert answer.status_code == 400
    assert "This is not a phone number." in answer.content.decode()
    assert not BlacklistEntry.objects.exists()


def test_the_form_needs_its_csrf_token(shop: Any) -> None:
    strict = Client(enforce_csrf_checks=True)

    assert strict.post(url(shop), {"number": NUMBER}).status_code == 403
    assert not BlacklistEntry.objects.exists()


def test_submissions_are_limited_per_address(
    shop: Any, client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SMS_UNSUBSCRIBE_RATE_IP = "3/h"
    for n in range(3):
        assert (
            submit(
                client, shop, f"+4474000000{n:02d}", django_capture_on_commit_callbacks
            ).status_code
            == 200
        )

    limited = submit(client, shop, NUMBER, django_capture_on_commit_callbacks)

    assert limited.status_code == 429
    assert "Too many attempts" in limited.content.decode()
    assert not BlacklistEntry.objects.exists()  # the fourth was not even read
    other_address = submit(
        client, shop, NUMBER, django_capture_on_commit_callbacks, REMOTE_ADDR="10.0.0.2"
    )
    assert other_address.status_code == 200
    assert BlacklistEntry.objects.count() == 1


def test_one_number_asked_again_and_again_gets_one_confirmation(
    shop: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SMS_UNSUBSCRIBE_RATE_NUMBER = "2/d"
    for n in range(4):
        client = Client(REMOTE_ADDR=f"10.0.0.{n}")
        assert submit(client, shop, NUMBER, django_capture_on_commit_callbacks).status_code == 200

    assert BlacklistEntry.objects.count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1


def test_a_notification_accounts_recipient_can_unsubscribe_too(
    db: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from accounts.models import AccountType

    notifier = make_account(
        slug="clinic", name="Clinique", credits=5, account_type=AccountType.NOTIFICATION
    )
    reminder = Message.objects.create(
        account=notifier, phone_number=NUMBER, region="GB", text="RDV demain ns.fr/x",
        segments=1, credits=2, marketing=False, state=MessageState.SENT, sent_at=timezone.now(),
    )  # fmt: skip
    _remember_sent([reminder.pk])

    submit(client, notifier, NUMBER, django_capture_on_commit_callbacks)

    assert BlacklistEntry.objects.get().account == notifier
