from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services
from accounts.errors import InsufficientCredits, ReferenceConflict
from accounts.models import Account, CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from tests.builders import make_account

pytestmark = pytest.mark.django_db


def test_a_debit_takes_the_credits_and_records_the_balance_after(account_a: Account) -> None:
    entry = services.credits_debit(
        account=account_a, amount=30, kind=EntryKind.CAMPAIGN, reference="campaign:1:launch"
    )

    account_a.refresh_from_db()
    assert account_a.credit_balance == 970
    assert entry.amount == -30
    assert entry.balance_after == 970


def test_a_debit_larger_than_the_balance_is_refused_with_the_figures_and_changes_nothing(
    account_a: Account,
) -> None:
    entries_before = CreditEntry.objects.count()

    with pytest.raises(InsufficientCredits) as refusal:
        services.credits_debit(
            account=account_a, amount=1001, kind=EntryKind.CAMPAIGN, reference="campaign:2:launch"
        )

    assert (refusal.value.needed, refusal.value.available) == (1001, 1000)
    assert "1001" in refusal.value.message and "1000" in refusal.value.message
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000
    assert CreditEntry.objects.count() == entries_before


def test_a_retried_debit_with_the_same_reference_debits_once(account_a: Account) -> None:
    first = services.credits_debit(
        account=account_a, amount=5, kind=EntryKind.MESSAGE, reference="message:77"
    )
    again = services.credits_debit(
        account=account_a, amount=5, kind=EntryKind.MESSAGE, reference="message:77"
    )

    assert again.pk == first.pk
    account_a.refresh_from_db()
    assert account_a.credit_balance == 995
    assert CreditEntry.objects.filter(reference="message:77").count() == 1


def test_a_reference_reused_for_another_amount_is_refused(account_a: Account) -> None:
    services.credits_debit(account=account_a, amount=5, kind=EntryKind.MESSAGE, reference="m:1")

    with pytest.raises(ReferenceConflict):
        services.credits_debit(account=account_a, amount=6, kind=EntryKind.MESSAGE, reference="m:1")

    account_a.refresh_from_db()
    assert account_a.credit_balance == 995


def test_a_reference_of_another_account_is_refused(account_a: Account, account_b: Account) -> None:
    services.credits_debit(account=account_a, amount=5, kind=EntryKind.MESSAGE, reference="m:2")

    with pytest.raises(ReferenceConflict):
        services.credits_debit(account=account_b, amount=5, kind=EntryKind.MESSAGE, reference="m:2")

    account_b.refresh_from_db()
    assert account_b.credit_balance == 1000


def test_the_stop_confirmation_may_take_the_balance_below_zero(db: Any) -> None:
    # The law requires the confirmation SMS even from an empty account.
    account = make_account(slug="empty", credits=0)

    entry = services.credits_debit(
        account=account,
        amount=1,
        kind=EntryKind.STOP_CONFIRMATION,
        reference="stop:1",
        allow_negative=True,
    )

    account.refresh_from_db()
    assert entry.balance_after == -1
    assert account.credit_balance == -1 == ledger_sum(account=account)


def test_zero_and_negative_amounts_are_refused(account_a: Account) -> None:
    from smsplatform.errors import DomainError

    for amount in (0, -3):
        with pytest.raises(DomainError):
            services.credits_debit(
                account=account_a, amount=amount, kind=EntryKind.MESSAGE, reference=f"z:{amount}"
            )
    assert CreditEntry.objects.filter(account=account_a).count() == 1


operations = st.lists(
    st.tuples(st.sampled_from(["add", "debit", "forced", "adjust"]), st.integers(1, 400)),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=operations)
def test_the_balance_always_equals_the_sum_of_the_entries_and_never_overdraws(
    db: Any, steps: list[tuple[str, int]]
) -> None:
    account = make_account(slug=f"prop-{Account.objects.count()}", credits=100)
    for index, (operation, amount) in enumerate(steps):
        reference = f"{account.slug}:{index}"
        before = Account.objects.get(pk=account.pk).credit_balance
        try:
            if operation == "add":
                services.credits_add(
                    account=account, amount=amount, kind=EntryKind.PURCHASE, reference=reference
                )
            elif operation == "debit":
                services.credits_debit(
                    account=account, amount=amount, kind=EntryKind.MESSAGE, reference=reference
                )
            elif operation == "forced":
                services.credits_debit(
                    account=account,
                    amount=1,
                    kind=EntryKind.STOP_CONFIRMATION,
                    reference=reference,
                    allow_negative=True,
                )
            else:
                services.credits_adjust(
                    account=account, amount=-amount, actor=None, reason="property test"
                )
        except InsufficientCredits:
            assert before - amount < 0
        stored = Account.objects.get(pk=account.pk).credit_balance
        assert stored == ledger_sum(account=account)
        if operation in {"debit", "adjust"}:
            # Only the forced confirmation may go below zero.
            assert stored >= 0 or stored == before


def test_several_entries_across_accounts_record_at_once_with_running_balances(
    account_a: Account, account_b: Account
) -> None:
    entries = services.credits_record(
        movements=[
            services.Movement(account_a.pk, 5, EntryKind.REFUND, "multi:1"),
            services.Movement(account_b.pk, -3, EntryKind.MESSAGE, "multi:2"),
            services.Movement(account_a.pk, -1, EntryKind.STOP_CONFIRMATION, "multi:3"),
        ]
    )

    assert [(entry.account_id, entry.balance_after) for entry in entries] == [
        (account_a.pk, 1005),
        (account_b.pk, 997),
        (account_a.pk, 1004),
    ]
    for account in (account_a, account_b):
        account.refresh_from_db()
        assert account.credit_balance == ledger_sum(account=account)
    assert (account_a.credit_balance, account_b.credit_balance) == (1004, 997)


def test_a_retried_set_of_entries_records_nothing_again(account_a: Account) -> None:
    movements = [
        services.Movement(account_a.pk, -2, EntryKind.MESSAGE, "set:1"),
        services.Movement(account_a.pk, -3, EntryKind.MESSAGE, "set:2"),
    ]
    first = services.credits_record(movements=movements)
    again = services.credits_record(movements=movements)

    assert [entry.pk for entry in again] == [entry.pk for entry in first]
    account_a.refresh_from_db()
    assert account_a.credit_balance == 995 == ledger_sum(account=account_a)


def test_one_overdrawing_entry_refuses_the_whole_set(
    account_a: Account, account_b: Account
) -> None:
    entries_before = CreditEntry.objects.count()

    with pytest.raises(InsufficientCredits):
        services.credits_record(
            movements=[
                services.Movement(account_b.pk, -10, EntryKind.MESSAGE, "all:1"),
                services.Movement(account_a.pk, -1001, EntryKind.CAMPAIGN, "all:2"),
            ]
        )

    assert CreditEntry.objects.count() == entries_before
    account_b.refresh_from_db()
    assert account_b.credit_balance == 1000
