"""Create the demo accounts, users, credits and contacts. Safe to run any number of times."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import Account, AccountType, EntryKind, Membership, Role
from campaigns.models import ConsentBasis, Contact
from campaigns.phone import normalize_number

DEMO_PASSWORD = "demo"  # noqa: S105 - a demo login, printed on purpose
SUPPORT_PASSWORD = "support"  # noqa: S105

DEMO_ACCOUNTS = [
    ("demo-marketing", "Demo Marketing (Boulangerie Paul)", AccountType.MARKETING, "PAUL"),
    ("demo-notification", "Demo Notification (Cabinet Dupont)", AccountType.NOTIFICATION, "DUPONT"),
]

DEMO_CONTACTS = [
    ("06 12 34 56 78", "Camille", "Martin"),
    ("07 98 76 54 32", "Léa", "Bernard"),
    ("+33 6 45 67 89 01", "Hugo", "Dubois"),
    ("+44 7400 123456", "Oliver", "Smith"),
    ("+32 450 00 12 34", "Lucas", "Peeters"),
    ("+1 201 555 0123", "Emma", "Johnson"),
]


class Command(BaseCommand):
    help = "Create the demo accounts (demo-marketing, demo-notification), users and contacts."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            support = self._user("support", SUPPORT_PASSWORD, staff=True)
            for slug, name, account_type, sender in DEMO_ACCOUNTS:
                self._account(slug, name, account_type, sender, support)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write("  Customer area: http://127.0.0.1:8000/")
        for slug, *_rest in DEMO_ACCOUNTS:
            self.stdout.write(f"    {slug:<18} user {slug!r:<20} password {DEMO_PASSWORD!r}")
        self.stdout.write("  Support admin: http://127.0.0.1:8000/admin/")
        self.stdout.write(f"    user 'support' password {SUPPORT_PASSWORD!r}")

    def _user(self, username: str, password: str, *, staff: bool = False) -> Any:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        if created:
            user.set_password(password)
            user.is_staff = staff
            user.is_superuser = staff
            user.save()
        return user

    def _account(
        self, slug: str, name: str, account_type: AccountType, sender: str, support: Any
    ) -> Account:
        user = self._user(slug, DEMO_PASSWORD)
        account = Account.objects.filter(slug=slug).first()
        if account is None:
            account = services.account_create(
                name=name, slug=slug, owner=user, default_sender_id=sender, actor=support
            )
        Membership.objects.get_or_create(user=user, account=account, defaults={"role": Role.OWNER})
        if account.account_type != account_type:
            services.account_switch_type(
                account=account, new_type=account_type, actor=support, reason="Demo data"
            )
        # The reference makes a second run find the first purchase instead of adding more.
        if settings.SMS_DEMO_CREDITS:
            services.credits_add(
                account=account,
                amount=settings.SMS_DEMO_CREDITS,
                kind=EntryKind.PURCHASE,
                reference=f"seed:{slug}:initial",
                note="Demo credits",
            )
        for raw, first_name, last_name in DEMO_CONTACTS:
            number = normalize_number(raw)
            Contact.objects.get_or_create(
                account=account,
                phone_number=number.e164,
                defaults={
                    "region": number.region,
                    "first_name": first_name,
                    "last_name": last_name,
                    "consent_basis": ConsentBasis.OPT_IN,
                },
            )
        return account
