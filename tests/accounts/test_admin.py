from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountType, AuditAction, AuditLog, CountryRate, CreditEntry
from accounts.selectors import ledger_sum

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_account_changelist")


def _switch(client: Client, account: Account, action: str, reason: str | None) -> Any:
    data = {"action": action, ACTION_CHECKBOX_NAME: [account.pk]}
    if reason is not None:
        data.update({"apply": "1", "reason": reason})
    return client.post(CHANGELIST, data)


def test_support_switches_an_account_to_notification_with_an_audited_reason(
    staff_client: Client, staff_user: Any, account_a: Account
) -> None:
    response = _switch(staff_client, account_a, "switch_to_notification", "Appointment reminders")

    assert response.status_code == 302
    account_a.refresh_from_db()
    assert account_a.account_type == AccountType.NOTIFICATION
    log = AuditLog.objects.get(account=account_a, action=AuditAction.TYPE_SWITCHED)
    assert (log.before, log.after, log.reason, log.actor) == (
        "marketing",
        "notification",
        "Appointment reminders",
        staff_user,
    )


def test_the_switch_asks_for_a_reason_first_and_changes_nothing_meanwhile(
    staff_client: Client, account_a: Account
) -> None:
    response = _switch(staff_client, account_a, "switch_to_notification", None)

    assert response.status_code == 200
    assert b"reason" in response.content
    account_a.refresh_from_db()
    assert account_a.account_type == AccountType.MARKETING
    assert not AuditLog.objects.filter(action=AuditAction.TYPE_SWITCHED).exists()


def test_an_empty_reason_is_refused(staff_client: Client, account_a: Account) -> None:
    response = _switch(staff_client, account_a, "switch_to_notification", "  ")

    assert response.status_code == 200
    account_a.refresh_from_db()
    assert account_a.account_type == AccountType.MARKETING


def test_switching_back_to_marketing_forces_the_stop_mention_on_at_once(
    staff_client: Client, notification_account: Account
) -> None:
    from accounts import services

    services.account_set_stop_mention(account=notification_account, enabled=False, actor=None)

    _switch(staff_client, notification_account, "switch_to_marketing", "Sends promotions now")

    notification_account.refresh_from_db()
    assert notification_account.account_type == AccountType.MARKETING
    assert notification_account.add_stop_mention is True


def test_the_database_refuses_a_marketing_account_without_the_mention(account_a: Account) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account_a.pk).update(add_stop_mention=False)


def test_support_adjusts_credits_with_an_audited_reason(
    staff_client: Client, staff_user: Any, account_a: Account
) -> None:
    url = reverse("admin:accounts_account_adjust_credits", args=[account_a.pk])

    response = staff_client.post(url, {"amount": "-250", "reason": "Refund of a test campaign"})

    assert response.status_code == 302
    account_a.refresh_from_db()
    assert account_a.credit_balance == 750 == ledger_sum(account=account_a)
    entry = CreditEntry.objects.filter(account=account_a).latest("id")
    assert (entry.amount, entry.created_by, entry.note) == (
        -250,
        staff_user,
        "Refund of a test campaign",
    )
    log = AuditLog.objects.get(account=account_a, action=AuditAction.CREDITS_ADJUSTED)
    assert (log.before, log.after) == ("1000", "750")


def test_an_adjustment_cannot_overdraw_and_says_so(
    staff_client: Client, account_a: Account
) -> None:
    url = reverse("admin:accounts_account_adjust_credits", args=[account_a.pk])

    response = staff_client.post(url, {"amount": "-5000", "reason": "typo"})

    assert response.status_code == 200
    assert b"5000" in response.content
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000
    assert not AuditLog.objects.filter(action=AuditAction.CREDITS_ADJUSTED).exists()


def test_the_ledger_cannot_be_edited_in_admin(staff_client: Client, account_a: Account) -> None:
    entry = CreditEntry.objects.filter(account=account_a).first()
    change = reverse("admin:accounts_creditentry_change", args=[entry.pk])

    staff_client.post(change, {"amount": "999999"})

    entry.refresh_from_db()
    assert entry.amount == 1000
    assert staff_client.get(reverse("admin:accounts_creditentry_add")).status_code == 403


def test_support_edits_a_country_rate_and_it_is_audited(staff_client: Client) -> None:
    rate = CountryRate.objects.get(region="FR")
    url = reverse("admin:accounts_countryrate_change", args=[rate.pk])

    response = staff_client.post(url, {"region": "FR", "credits_per_segment": "2"})

    assert response.status_code == 302
    rate.refresh_from_db()
    assert rate.credits_per_segment == 2
    log = AuditLog.objects.get(action=AuditAction.RATE_CHANGED)
    assert (log.before, log.after) == ("FR: 1", "FR: 2")


def test_the_account_list_filters_by_type_and_searches(
    staff_client: Client, account_a: Account, notification_account: Account
) -> None:
    filtered = staff_client.get(CHANGELIST, {"account_type__exact": "notification"})
    searched = staff_client.get(CHANGELIST, {"q": "tenant-a"})

    assert b"Tenant N" in filtered.content and b"Tenant A" not in filtered.content
    assert b"Tenant A" in searched.content and b"Tenant N" not in searched.content


def test_a_customer_cannot_open_the_admin(client_a: Client) -> None:
    response = client_a.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
