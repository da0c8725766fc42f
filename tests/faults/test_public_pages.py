"""Item 15: the pages anyone can reach, the public unsubscribe page and the login page.

- Rate limits hold: per client address and per username (login), per address and per
  number (unsubscribe), also under concurrent requests, counted in Redis as production
  does; over the limit a clear message (in French too) and the password is not checked.
- No SMS goes to a number that never received one from that account.
- Nothing tells whether a number is a customer's contact: the same answer, and the same
  work (the same SQL statements, one background task queued) for a recipient, a contact
  never messaged, another account's recipient and a stranger.
- CSRF is enforced: on these two pages, and on every page of the URL conf that takes a
  POST (carriers' webhooks aside: they authenticate with their own secrets).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, CreditEntry, EntryKind
from blacklist.models import BlacklistEntry
from campaigns.dispatch import _remember_sent
from campaigns.models import Message, MessageState
from campaigns.services import contact_create
from tests.builders import in_threads, make_account, make_user
from tests.conftest import REDIS_TEST_URL
from tests.faults.test_tenant_isolation_sweep import routes

PASSWORD = "a-long-enough-password"
RECIPIENT = "+447400123456"


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def redis_cache() -> Iterator[None]:
    """The limits counted in Redis, shared by every process, as in production."""
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_TEST_URL,
                "KEY_PREFIX": "faults-public-pages",
            }
        }
    ):
        cache.clear()
        yield
        cache.clear()


def attempt(client: Client, username: str, password: str = "wrong") -> Any:
    return client.post("/login/", {"username": username, "password": password})


# -- login -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_attempts_are_limited_per_username_from_any_address(settings: Any) -> None:
    settings.SMS_LOGIN_RATE_USERNAME = "3/10m"
    make_user("paul", password=PASSWORD)
    answers = [attempt(Client(REMOTE_ADDR=f"10.0.0.{n}"), "paul") for n in range(3)]

    limited = attempt(Client(REMOTE_ADDR="10.0.0.99"), "Paul ")
    right_password = Client(REMOTE_ADDR="10.0.0.100")
    refused = attempt(right_password, "paul", PASSWORD)

    assert [answer.status_code for answer in answers] == [200, 200, 200]  # wrong password
    assert limited.status_code == refused.status_code == 429
    assert "Too many login attempts" in limited.content.decode()
    assert "_auth_user_id" not in right_password.session  # not checked, not logged in
    assert attempt(Client(REMOTE_ADDR="10.0.0.101"), "someone-else", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_login_attempts_are_limited_per_address_whatever_the_username(settings: Any) -> None:
    settings.SMS_LOGIN_RATE_IP = "4/10m"
    make_user("paul", password=PASSWORD)
    client = Client(REMOTE_ADDR="192.0.2.7")
    answers = [attempt(client, f"user-{n}") for n in range(4)]

    limited = attempt(client, "paul", PASSWORD)

    assert [answer.status_code for answer in answers] == [200] * 4
    assert limited.status_code == 429
    # Another address is not concerned, and logs in.
    other = Client(REMOTE_ADDR="192.0.2.8")
    assert attempt(other, "paul", PASSWORD).status_code == 302
    assert other.session["_auth_user_id"]


@pytest.mark.django_db
def test_the_login_limit_speaks_french(settings: Any) -> None:
    settings.SMS_LOGIN_RATE_USERNAME = "1/10m"
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    attempt(client, "paul")

    limited = attempt(client, "paul")

    assert limited.status_code == 429
    assert "Trop de tentatives de connexion" in limited.content.decode()


@pytest.mark.django_db
def test_a_unknown_username_and_a_known_one_are_limited_alike(settings: Any) -> None:
    settings.SMS_LOGIN_RATE_USERNAME = "2/10m"
    make_user("paul", password=PASSWORD)

    known = [attempt(Client(), "paul").status_code for _ in range(3)]
    unknown = [attempt(Client(), "nobody").status_code for _ in range(3)]

    assert known == unknown == [200, 200, 429]


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_login_attempts_cannot_slip_past_the_limit(
    settings: Any, redis_cache: None
) -> None:
    settings.SMS_LOGIN_RATE_USERNAME = "10/10m"
    make_user("paul", password=PASSWORD)

    statuses = in_threads(
        40, lambda n: attempt(Client(REMOTE_ADDR=f"10.1.0.{n}"), "paul").status_code
    )

    assert sorted(statuses) == [200] * 10 + [429] * 30


# -- the unsubscribe page ------------------------------------------------------------------


@pytest.fixture
def shop(db: Any) -> Account:
    account = make_account(slug="shop", name="Shop & Co", credits=10)
    sent = Message.objects.create(
        account=account, phone_number=RECIPIENT, region="GB", text="Sale ns.fr/x", segments=1,
        credits=2, state=MessageState.DELIVERED, sent_at=timezone.now(),
    )  # fmt: skip
    _remember_sent([sent.pk])
    return account


def unsubscribe(client: Client, account: Account, number: str) -> Any:
    return client.post(f"/{account.unsubscribe_code}", {"number": number})


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_unsubscribe_submissions_cannot_slip_past_the_address_limit(
    settings: Any, redis_cache: None, shop: Account
) -> None:
    settings.SMS_UNSUBSCRIBE_RATE_IP = "5/h"

    statuses = in_threads(
        25, lambda n: unsubscribe(Client(), shop, f"+4474000001{n:02d}").status_code
    )

    assert sorted(statuses) == [200] * 5 + [429] * 20


@pytest.mark.django_db
def test_no_sms_reaches_a_number_the_account_never_messaged(
    shop: Account, django_capture_on_commit_callbacks: Any
) -> None:
    other = make_account(slug="other", credits=10)
    theirs = Message.objects.create(
        account=other, phone_number="+447400999999", region="GB", text="x", segments=1,
        credits=2, state=MessageState.SENT, sent_at=timezone.now(),
    )  # fmt: skip
    _remember_sent([theirs.pk])
    contact_create(account=shop, phone_number="+447400555555")  # a contact, never messaged
    before = set(Message.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        for number in ["+447400999999", "+447400555555", "+447400000042", "+33612345678"]:
            assert unsubscribe(Client(), shop, number).status_code == 200

    assert set(Message.objects.values_list("pk", flat=True)) == before  # no SMS at all
    assert not BlacklistEntry.objects.exists()
    assert not CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).exists()


def _without_token(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.django_db
def test_the_page_does_the_same_work_whoever_the_number_belongs_to(
    shop: Account, django_capture_on_commit_callbacks: Any
) -> None:
    """The same answer and the same statements for every number; the check ("did this
    account message it?") runs in the background task, queued once for each."""
    other = make_account(slug="other", credits=10)
    theirs = Message.objects.create(
        account=other, phone_number="+447400999999", region="GB", text="x", segments=1,
        credits=2, state=MessageState.SENT, sent_at=timezone.now(),
    )  # fmt: skip
    _remember_sent([theirs.pk])
    contact_create(account=shop, phone_number="+447400555555")
    numbers = {
        "recipient": RECIPIENT,
        "contact never messaged": "+447400555555",
        "another account's recipient": "+447400999999",
        "stranger": "+447400000042",
    }

    seen = {}
    for who, number in numbers.items():
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=False) as queued,
        ):
            answer = unsubscribe(Client(), shop, number)
        seen[who] = (
            answer.status_code,
            _without_token(answer.content.decode()),
            _statements(queries),
            len(queued),
        )

    first = seen["recipient"]
    assert first[0] == 200 and first[3] == 1
    assert all(value == first for value in seen.values()), seen


# -- CSRF ----------------------------------------------------------------------------------

CSRF_EXEMPT = ("webhooks/",)  # carriers sign their calls (tests/faults/test_webhook_signatures.py)


def _post_routes() -> list[str]:
    paths = []
    for route in routes():
        if route.route.startswith(CSRF_EXEMPT):
            continue
        if route.route.startswith("^"):  # the unsubscribe page: its code
            paths.append("/abc")
            continue
        path = route.path(1) if route.parameters else "/" + route.route
        if "<" in path or "(?P" in path or "^" in path:
            continue
        paths.append(path)
    return paths


@pytest.mark.django_db
def test_every_post_without_its_csrf_token_is_refused(account_a: Account, shop: Account) -> None:
    owner = account_a.memberships.get(role="owner").user
    staff = make_user("support-csrf", staff=True)
    refused = []
    for user in (None, owner, staff):
        strict = Client(enforce_csrf_checks=True)
        if user is not None:
            strict.force_login(user)
        for path in _post_routes():
            answer = strict.post(path, {"number": RECIPIENT, "username": "x", "password": "y"})
            status = answer.status_code
            # 403: CSRF refused. Also refused before any effect: the API without a
            # session or a key (401), the schema and its pages, which only GET (405).
            if not (
                status == 403
                or (status == 401 and user is None and path.startswith("/api/v1/"))
                or (status == 405 and path.startswith(("/api/schema", "/api/docs", "/api/redoc")))
            ):
                refused.append((path, user and user.username, answer.status_code))

    assert refused == []
    assert not BlacklistEntry.objects.exists()


@pytest.mark.django_db
def test_the_login_and_unsubscribe_forms_need_their_csrf_token(shop: Account) -> None:
    make_user("paul", password=PASSWORD)
    strict = Client(enforce_csrf_checks=True)

    assert attempt(strict, "paul", PASSWORD).status_code == 403
    assert "_auth_user_id" not in strict.session
    assert unsubscribe(strict, shop, RECIPIENT).status_code == 403
    assert not BlacklistEntry.objects.exists()


# -- password reset ----------------------------------------------------------------------


@pytest.mark.django_db
def test_password_reset_requests_are_limited_per_email_and_per_address(
    settings: Any, mailoutbox: list[Any]
) -> None:
    """No mailbox can be flooded from the reset form, and the limit does not tell
    whether an address has an account."""
    settings.SMS_PASSWORD_RESET_RATE_EMAIL = "2/h"
    settings.SMS_PASSWORD_RESET_RATE_IP = "5/h"
    make_user("paul", password=PASSWORD)  # paul@example.com

    def reset(email: str, address: str) -> Any:
        return Client(REMOTE_ADDR=address).post("/password_reset/", {"email": email})

    answers = [reset("Paul@example.com", f"10.1.0.{n}") for n in range(2)]
    limited = reset("paul@example.com", "10.1.0.9")
    stranger = [reset("nobody@example.com", f"10.2.0.{n}") for n in range(3)]

    assert [answer.status_code for answer in answers] == [302, 302]
    assert len(mailoutbox) == 2  # the third request sent nothing
    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode()
    assert [answer.status_code for answer in stranger] == [302, 302, 429]  # alike

    client = Client(REMOTE_ADDR="192.0.2.50", HTTP_ACCEPT_LANGUAGE="fr")
    codes = [client.post("/password_reset/", {"email": f"u{n}@example.com"}) for n in range(6)]
    assert [answer.status_code for answer in codes] == [302] * 5 + [429]
    assert "Trop de demandes" in codes[-1].content.decode()
