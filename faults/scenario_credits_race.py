"""Item 9: 1,000 concurrent 1-credit debits against a balance of 500.

20 threads, each with its own PostgreSQL connection, debit one credit at a time
(`credits_debit`, distinct references) while another session watches the balance.
Exactly 500 must succeed and 500 be refused with the figures (1 needed, 0 available);
the balance is never seen below zero, every entry's running balance follows from the
one before, and the ledger's sum is the balance. Then a campaign larger than the
balance is refused at launch with its figures, writing nothing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from faults.base import Result, Scenario
from faults.edge_support import close_connections, shop_that_messaged

DEBITS, BALANCE, THREADS = 1000, 500, 20


def _refused_campaign(account_id: int) -> tuple[bool, str]:
    """A campaign of BALANCE + 100 recipients: refused with the figures, nothing written."""
    from accounts.errors import InsufficientCredits
    from accounts.models import Account, CreditEntry
    from campaigns.launch import launch_campaign
    from campaigns.lifecycle import campaign_create
    from campaigns.models import CampaignStatus, Contact, Message

    account = Account.objects.get(pk=account_id)
    Contact.objects.bulk_create(
        Contact(account=account, phone_number=f"+3361200{n:04d}", region="FR")
        for n in range(BALANCE + 100)
    )
    campaign = campaign_create(account=account, name="too big", text="Soldes", all_contacts=True)
    entries = CreditEntry.objects.filter(account=account).count()
    try:
        launch_campaign(campaign)
    except InsufficientCredits as refusal:
        campaign.refresh_from_db()
        untouched = (
            campaign.status == CampaignStatus.DRAFT
            and not Message.objects.filter(campaign=campaign).exists()
            and CreditEntry.objects.filter(account=account).count() == entries
        )
        return untouched and (refusal.needed, refusal.available) == (BALANCE + 100, 0), (
            f"campaign of {BALANCE + 100} refused: {refusal.needed} needed, "
            f"{refusal.available} available, nothing written: {untouched}"
        )
    return False, "a campaign larger than the balance was launched"


def run() -> Result:
    from accounts.errors import InsufficientCredits
    from accounts.models import Account, CreditEntry, EntryKind
    from accounts.selectors import ledger_sum
    from accounts.services import credits_debit

    account = shop_that_messaged(credits=BALANCE, name="race").account
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(THREADS + 1)
    done = threading.Event()
    lowest = [BALANCE]

    def watch() -> None:
        try:
            start.wait()
            while not done.is_set():
                seen = Account.objects.values_list("credit_balance", flat=True).get(pk=account.pk)
                lowest[0] = min(lowest[0], seen)
        finally:
            close_connections()

    def debit(worker: int) -> None:
        mine: Counter[str] = Counter()
        try:
            start.wait()
            for index in range(DEBITS // THREADS):
                try:
                    credits_debit(
                        account=Account.objects.get(pk=account.pk),
                        amount=1,
                        kind=EntryKind.MESSAGE,
                        reference=f"faults:race:{account.pk}:{worker}:{index}",
                    )
                    mine["debited"] += 1
                except InsufficientCredits as refusal:
                    correct = (refusal.needed, refusal.available) == (1, 0)
                    mine["refused" if correct else "refused with wrong figures"] += 1
        except Exception as error:  # counted, never lost in a thread
            mine[f"error: {type(error).__name__}"] += 1
        finally:
            with lock:
                outcomes.update(mine)
            close_connections()

    close_connections()
    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=debit, args=(n,)) for n in range(THREADS)]
    watcher.start()
    for worker in workers:
        worker.start()
    started = time.monotonic()
    for worker in workers:
        worker.join()
    seconds = time.monotonic() - started
    done.set()
    watcher.join()

    account.refresh_from_db()
    running, coherent = BALANCE, True
    entries = CreditEntry.objects.filter(account=account, kind=EntryKind.MESSAGE).order_by("id")
    for amount, balance_after in entries.values_list("amount", "balance_after"):
        running += amount
        coherent = coherent and balance_after == running >= 0
    refused_ok, refusal_note = _refused_campaign(account.pk)
    debited = outcomes["debited"]
    return Result(
        messages=DEBITS,
        lost=max(0, BALANCE - debited),  # debits refused while credits remained
        double_debits=max(0, debited - BALANCE),
        passed=(
            outcomes == Counter(debited=BALANCE, refused=DEBITS - BALANCE)
            and account.credit_balance == 0 == ledger_sum(account=account)
            and lowest[0] >= 0
            and coherent
            and refused_ok
        ),
        notes=[
            f"{DEBITS} debits from {THREADS} threads in {seconds:.1f} s: {dict(outcomes)}; "
            f"balance {account.credit_balance} = ledger {ledger_sum(account=account)}, "
            f"lowest balance seen meanwhile {lowest[0]}, running balances coherent: {coherent}",
            refusal_note,
        ],
    )


SCENARIO = Scenario(
    name="credits_race",
    description="1,000 concurrent 1-credit debits against 500 credits; a campaign too large",
    run=run,
    fast=True,
)
