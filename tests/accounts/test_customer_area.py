from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.access import SESSION_KEY
from accounts.models import Account, AuditLog, Membership, Role
from tests.builders import make_user

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_the_balance_and_recent_entries(client_a: Client) -> None:
    response = client_a.get(reverse("dashboard"))

    assert response.status_code == 200
    assert response.context["current_account"].slug == "tenant-a"
    assert b'data-testid="balance">1,000<' in response.content
    assert len(response.context["entries"]) == 1


def test_the_dashboard_never_shows_another_accounts_ledger(
    client_a: Client, account_b: Account
) -> None:
    services.credits_debit(account=account_b, amount=7, kind="message", reference="b:secret")

    response = client_a.get(reverse("dashboard"))

    assert all(entry.account.slug == "tenant-a" for entry in response.context["entries"])
    assert b"b:secret" not in response.content


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_marketing_account_sees_the_stop_mention_locked_with_the_reason(
    client_a: Client,
) -> None:
    response = client_a.get(reverse("settings-alerts"))

    assert response.context["form"].fields["add_stop_mention"].disabled
    assert b'data-testid="stop-locked-reason"' in response.content
    assert b"disabled" in response.content


def test_a_forged_post_from_a_marketing_account_changes_nothing(
    client_a: Client, account_a: Account
) -> None:
    # The browser shows a disabled checkbox; a forged POST simply leaves it out.
    response = client_a.post(reverse("settings-alerts"), {})

    assert response.status_code == 302
    account_a.refresh_from_db()
    assert account_a.add_stop_mention is True
    assert not AuditLog.objects.filter(action="stop_setting_changed").exists()


def test_the_service_refuses_a_marketing_account_turning_the_mention_off(
    account_a: Account,
) -> None:
    from accounts.errors import StopMentionRequired

    with pytest.raises(StopMentionRequired):
        services.account_set_stop_mention(account=account_a, enabled=False, actor=None)
    account_a.refresh_from_db()
    assert account_a.add_stop_mention is True


def test_a_notification_account_turns_the_mention_off_and_on(
    client_n: Client, notification_account: Account
) -> None:
    client_n.post(reverse("settings-alerts"), {})
    notification_account.refresh_from_db()
    assert notification_account.add_stop_mention is False

    client_n.post(reverse("settings-alerts"), {"add_stop_mention": "on"})
    notification_account.refresh_from_db()
    assert notification_account.add_stop_mention is True
    assert AuditLog.objects.filter(action="stop_setting_changed").count() == 2


def test_a_member_who_is_not_owner_cannot_change_settings(
    notification_account: Account,
) -> None:
    member = make_user("member-n")
    Membership.objects.create(user=member, account=notification_account, role=Role.MEMBER)
    client = Client()
    client.force_login(member)

    client.post(reverse("settings-alerts"), {})

    notification_account.refresh_from_db()
    assert notification_account.add_stop_mention is True


def test_settings_validate_the_default_sender_id(client_a: Client, account_a: Account) -> None:
    bad = client_a.post(reverse("settings"), {"default_sender_id": "AB", "timezone": "UTC"})
    good = client_a.post(reverse("settings"), {"default_sender_id": "PAUL", "timezone": "UTC"})

    assert bad.status_code == 200 and bad.context["form"].errors["default_sender_id"]
    assert good.status_code == 302
    account_a.refresh_from_db()
    assert (account_a.default_sender_id, account_a.timezone) == ("PAUL", "UTC")


def test_a_user_of_two_accounts_switches_between_them(
    account_a: Account, account_b: Account
) -> None:
    user = make_user("consultant")
    Membership.objects.create(user=user, account=account_a)
    Membership.objects.create(user=user, account=account_b)
    client = Client()
    client.force_login(user)

    client.post(reverse("account-switch"), {"account": account_b.pk})

    assert client.get(reverse("dashboard")).context["current_account"] == account_b


def test_switching_to_an_account_one_does_not_belong_to_is_a_404(
    client_a: Client, account_b: Account
) -> None:
    response = client_a.post(reverse("account-switch"), {"account": account_b.pk})

    assert response.status_code == 404
    assert client_a.session.get(SESSION_KEY) is None


def test_a_user_without_account_is_told_so(db: Any) -> None:
    client = Client()
    client.force_login(make_user("lonely"))

    response = client.get(reverse("dashboard"))

    assert response.status_code == 403
    assert b"does not belong to any customer account" in response.content


def test_login_logout_and_password_reset_pages_work(client: Client, account_a: Account) -> None:
    from django.core import mail

    owner = account_a.memberships.get().user
    login = client.post(reverse("login"), {"username": owner.username, "password": "pw-for-tests"})
    assert login.status_code == 302 and login["Location"] == reverse("dashboard")
    assert client.post(reverse("logout")).status_code == 302

    reset = client.post(reverse("password_reset"), {"email": owner.email})
    assert reset.status_code == 302
    assert len(mail.outbox) == 1
    assert "/reset/" in mail.outbox[0].body
