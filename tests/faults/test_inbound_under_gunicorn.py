"""Items 6 and 7 on the real server: the inbound webhook under gunicorn (gthread workers,
group commit), on PostgreSQL.

6. One carrier id POSTed many times over many concurrent connections, and again later:
   one inbound row, one Blacklist entry, one confirmation, one credit, every answer 2xx.
   (`python -m faults inbound_duplicates` does it with 1,000 requests over 50.)
7. A real PostgreSQL failure between storing the reply and its Blacklist entry (a
   trigger that refuses the entry's INSERT, installed and removed here): the carrier
   gets a non-2xx answer and nothing is half-done (no reply stored, no entry, no
   confirmation, no debit), ordinary replies arriving at the same moment are stored all
   the same; once the failure is gone, the carrier's retry of the same id is applied
   exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Account, CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from blacklist.models import BlacklistEntry, GatewayKind, InboundMessage, InboundStatus
from blacklist.services import confirmation_text, connection_create
from campaigns.models import Message
from faults.gunicorn_server import Server, gunicorn, hammer, wait_for
from tests.blacklist.test_inbound import sent_message
from tests.builders import make_account

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NUMBER = "+33612345678"


def database_url_of_tests() -> str:
    config = settings.DATABASES["default"]
    user = config.get("USER") or "postgres"
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{config['NAME']}"


@pytest.fixture(scope="module")
def server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Server]:
    """gunicorn on the test database: 2 workers of 8 threads, background tasks (the
    confirmation SMS) in a thread of the web process, as the embedded default runs."""
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL")  # the marker fails it under CI=true first
    with gunicorn(database_url_of_tests(), workers=2, threads=8) as running:
        yield running


def stop_request(token: str, carrier_id: str, number: str = NUMBER, text: str = "STOP") -> Any:
    return (
        "POST",
        f"/webhooks/kannel/inbound/{token}/",
        {"id": carrier_id, "from": number, "to": "36034", "text": text},
    )


def effects(account: Account) -> dict[str, int]:
    return {
        "inbound": InboundMessage.objects.filter(sender=NUMBER).count(),
        "entries": BlacklistEntry.objects.filter(account=account).count(),
        "confirmations": Message.objects.filter(
            account=account, text=confirmation_text(account.name, "FR")
        ).count(),
        "debits": CreditEntry.objects.filter(
            account=account, kind=EntryKind.STOP_CONFIRMATION
        ).count(),
    }


def test_one_carrier_id_posted_300_times_at_once_and_again_later_is_applied_once(
    server: Server,
) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account)
    _kannel, token = connection_create(name="kannel-orange", kind=GatewayKind.KANNEL)

    first = hammer(server, [stop_request(token, "dup-1")] * 300, connections=30)
    later = hammer(server, [stop_request(token, "dup-1")] * 50, connections=10)

    assert first == {200: 300}
    assert later == {200: 50}
    assert effects(account) == {"inbound": 1, "entries": 1, "confirmations": 1, "debits": 1}
    # The confirmation leaves in the background (a thread of gunicorn's worker).
    confirmation = Message.objects.filter(
        account=account, text=confirmation_text(account.name, "FR")
    )
    assert wait_for(lambda: confirmation.filter(sent_at__isnull=False).exists())
    account.refresh_from_db()
    assert account.credit_balance == 9 == ledger_sum(account=account)


@contextmanager
def blacklist_inserts_fail() -> Iterator[None]:
    """A real PostgreSQL error on every INSERT into the Blacklist, until the block ends."""
    table = BlacklistEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION faults_refuse_blacklist() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'faults: Blacklist insert refused'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER faults_refuse_blacklist BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION faults_refuse_blacklist()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS faults_refuse_blacklist ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS faults_refuse_blacklist()")


def test_a_failure_between_the_reply_and_its_entry_leaves_nothing_and_the_retry_applies_once(
    server: Server,
) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account)
    others = [f"+3361100{n:04d}" for n in range(10)]
    for number in others:
        sent_message(account, number)
    _kannel, token = connection_create(name="kannel-orange", kind=GatewayKind.KANNEL)
    stops = [stop_request(token, f"fail-{n}") for n in range(5)]
    replies = [stop_request(token, f"reply-{n}", others[n], "Merci, à samedi") for n in range(10)]

    with blacklist_inserts_fail():
        failed = hammer(server, stops * 4, connections=10)
        ordinary = hammer(server, replies, connections=10)
        stored_meanwhile = InboundMessage.objects.filter(sender=NUMBER).count()

    assert failed and all(status >= 500 for status in failed if status > 0), failed
    assert ordinary == {200: 10}  # replies of the same moments are not held hostage
    assert stored_meanwhile == 0
    assert effects(account) == {"inbound": 0, "entries": 0, "confirmations": 0, "debits": 0}
    account.refresh_from_db()
    assert account.credit_balance == 10

    retried = hammer(server, stops * 3, connections=10)

    assert retried == {200: 15}
    assert effects(account) == {"inbound": 5, "entries": 1, "confirmations": 1, "debits": 1}
    statuses = set(InboundMessage.objects.filter(sender=NUMBER).values_list("status", flat=True))
    assert statuses == {InboundStatus.BLACKLISTED, InboundStatus.ALREADY}
    assert InboundMessage.objects.filter(carrier_id__startswith="reply-").count() == 10
    account.refresh_from_db()
    assert account.credit_balance == 9 == ledger_sum(account=account)
