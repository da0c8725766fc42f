"""Group commit of the inbound webhook (blacklist/intake.py), on PostgreSQL with real
threads: replies that arrive while a commit is under way are committed together and
exactly once; a reply that fails does not fail the others of its group; a reply not
committed in time is answered 503, and the carrier's retry then changes nothing.

To hold a group at a known point, a second database session takes the account's row
lock, which the group's ledger entry waits for.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.urls import reverse

from accounts.models import Account, CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from blacklist.intake import intake
from blacklist.models import BlacklistEntry, GatewayKind, InboundMessage, InboundStatus
from blacklist.services import Received, Reply, connection_create
from campaigns.models import Message
from tests.blacklist.test_inbound import sent_message
from tests.builders import make_account

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NUMBERS = [f"+336120000{n:02d}" for n in range(10)]


@contextmanager
def account_locked(account: Account) -> Iterator[None]:
    """Another session holds the account's row lock until the block ends."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            Account.objects.select_for_update().get(pk=account.pk)
            taken.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def sessions_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def in_threads(
    replies: list[Reply],
) -> tuple[list[Received | BaseException], list[threading.Thread]]:
    """intake.receive for each reply, each in its own thread (as concurrent requests);
    the results, filled in as the threads end, and the threads."""
    results: list[Received | BaseException] = [RuntimeError("no answer")] * len(replies)

    def receive(index: int) -> None:
        try:
            results[index] = intake.receive(replies[index])
        except BaseException as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=receive, args=(n,)) for n in range(len(replies))]
    for thread in threads:
        thread.start()
    return results, threads


@pytest.fixture
def shop() -> Account:
    account = make_account(slug="shop", credits=100)
    for number in NUMBERS:
        sent_message(account, number)
    return account


@pytest.fixture
def kannel_id() -> int:
    return connection_create(name="kannel-orange", kind=GatewayKind.KANNEL)[0].pk


def test_replies_arriving_during_a_commit_are_committed_together_once(
    shop: Account, kannel_id: int
) -> None:
    groups, replies = intake.groups, intake.replies
    with account_locked(shop):
        first, first_threads = in_threads([Reply(kannel_id, "id-0", NUMBERS[0], "36034", "STOP")])
        wait_for(lambda: sessions_waiting_for_a_lock() == 1, "the first group to wait")
        # While it waits: nine other STOPs, three retries of its carrier id, two replies.
        queued = [Reply(kannel_id, f"id-{n}", NUMBERS[n], "36034", "Stop") for n in range(1, 10)]
        queued += [Reply(kannel_id, "id-0", NUMBERS[0], "36034", "STOP")] * 3
        queued += [Reply(kannel_id, f"r-{n}", NUMBERS[n], "36034", "Merci !") for n in (1, 2)]
        rest, rest_threads = in_threads(queued)
        wait_for(lambda: intake._queue.qsize() == len(queued), "the replies to queue up")
    for thread in first_threads + rest_threads:
        thread.join()
    close_old_connections()

    assert (first[0].status, first[0].account_id) == (InboundStatus.BLACKLISTED, shop.pk)
    statuses = [result.status if result.new else "retry" for result in rest]
    assert statuses == [InboundStatus.BLACKLISTED] * 9 + ["retry"] * 3 + [InboundStatus.REPLY] * 2
    # Two commits: the first reply alone, then the fourteen that queued behind it.
    assert (intake.groups - groups, intake.replies - replies) == (2, 15)
    assert InboundMessage.objects.count() == 12
    assert BlacklistEntry.objects.filter(account=shop).count() == 10
    assert Message.objects.filter(campaign=None, marketing=False).count() == 10
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 10
    shop.refresh_from_db()
    assert shop.credit_balance == 90 == ledger_sum(account=shop)


def test_a_reply_that_fails_does_not_fail_the_others_of_its_group(
    shop: Account, kannel_id: int
) -> None:
    with account_locked(shop):
        first, first_threads = in_threads([Reply(kannel_id, "id-0", NUMBERS[0], "36034", "STOP")])
        wait_for(lambda: sessions_waiting_for_a_lock() == 1, "the first group to wait")
        # The third names a connection that does not exist: its row fails the commit.
        queued = [
            Reply(kannel_id, "id-1", NUMBERS[1], "36034", "STOP"),
            Reply(kannel_id, "id-2", NUMBERS[2], "36034", "Bonjour"),
            Reply(kannel_id + 1000, "id-3", NUMBERS[3], "36034", "STOP"),
            Reply(kannel_id, "id-4", NUMBERS[4], "36034", "STOP"),
        ]
        rest, rest_threads = in_threads(queued)
        wait_for(lambda: intake._queue.qsize() == len(queued), "the replies to queue up")
    for thread in first_threads + rest_threads:
        thread.join()
    close_old_connections()

    assert first[0].new
    assert [result.new for result in rest if isinstance(result, Received)] == [True] * 3
    assert isinstance(rest[2], IntegrityError)
    assert sorted(InboundMessage.objects.values_list("carrier_id", flat=True)) == [
        "id-0", "id-1", "id-2", "id-4",
    ]  # fmt: skip
    assert sorted(BlacklistEntry.objects.values_list("phone_number", flat=True)) == [
        NUMBERS[0], NUMBERS[1], NUMBERS[4],
    ]  # fmt: skip
    shop.refresh_from_db()
    assert shop.credit_balance == 97 == ledger_sum(account=shop)


def test_a_reply_not_committed_in_time_gets_503_and_the_retry_changes_nothing(
    shop: Account, live_server: Any, settings: Any
) -> None:
    settings.SMS_INBOUND_TIMEOUT = 1
    _connection, token = connection_create(name="kannel-sfr", kind=GatewayKind.KANNEL)
    query = urlencode({"id": "slow-1", "from": NUMBERS[5], "to": "36034", "text": "STOP"})
    url = f"{live_server.url}{reverse('kannel-inbound', args=[token])}?{query}"

    with account_locked(shop):
        with pytest.raises(urllib.error.HTTPError) as refusal:
            urllib.request.urlopen(url, timeout=30)  # noqa: S310 (the test's own server)
    assert refusal.value.code == 503
    # The lock is gone: the reply commits after all; the carrier's retry finds it.
    wait_for(lambda: BlacklistEntry.objects.filter(phone_number=NUMBERS[5]).exists(), "commit")
    with urllib.request.urlopen(url, timeout=30) as again:  # noqa: S310
        assert (again.status, again.read()) == (200, b"ok: already received\n")

    assert InboundMessage.objects.count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1
