"""Tenants, their members, their credits and the support staff's audit trail."""

from __future__ import annotations

import secrets
import string
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

UNSUBSCRIBE_CODE_ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_REGION_CODE = "ZZ"  # phonenumbers' "unknown region": our rate for any other country


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def new_unsubscribe_code(length: int | None = None) -> str:
    """A random code for the account's international unsubscribe link ("ns.fr/k3x")."""
    size = length or settings.SMS_UNSUBSCRIBE_CODE_LENGTH
    return "".join(secrets.choice(UNSUBSCRIBE_CODE_ALPHABET) for _ in range(size))


class AccountType(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    NOTIFICATION = "notification", _("Notification")


class Account(models.Model):
    """A customer (tenant). Everything a customer owns hangs off one of these.

    Type and STOP mention::

        Marketing (default) ── support staff switch ──> Notification
            mention always added                  mention per send / per setting
        Notification ── switch back ──> Marketing: the mention is forced on again

    The database refuses a Marketing account whose STOP mention is off (constraint
    `marketing_accounts_always_add_stop`), so no code path can forget the rule.
    """

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    account_type = models.CharField(
        _("account type"),
        max_length=20,
        choices=AccountType.choices,
        default=AccountType.MARKETING,
    )
    add_stop_mention = models.BooleanField(
        _("add the STOP mention automatically"),
        default=True,
        help_text=_("Only Notification accounts may turn this off."),
    )
    default_sender_id = models.CharField(_("default sender ID"), max_length=15, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", choices=timezone_choices
    )
    unsubscribe_code = models.CharField(
        _("unsubscribe link code"),
        max_length=8,
        unique=True,
        default=new_unsubscribe_code,
        help_text=_("Identifies the account in the international unsubscribe link."),
    )
    # The sum of this account's ledger entries, kept in the same transaction as each
    # entry (services.credits_*), under a row lock on this account.
    credit_balance = models.BigIntegerField(_("credit balance"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account_type="notification") | Q(add_stop_mention=True),
                name="marketing_accounts_always_add_stop",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_marketing(self) -> bool:
        return self.account_type == AccountType.MARKETING

    @property
    def stop_mention_locked(self) -> bool:
        """True when the mention cannot be removed: every Marketing account."""
        return self.is_marketing

    @property
    def unsubscribe_link(self) -> str:
        return f"{settings.SMS_UNSUBSCRIBE_HOST}/{self.unsubscribe_code}"


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MEMBER = "member", _("Member")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.account} ({self.role})"


class EntryKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CAMPAIGN = "campaign", _("Campaign")
    MESSAGE = "message", _("Message")
    STOP_CONFIRMATION = "stop_confirmation", _("STOP confirmation")
    REFUND = "refund", _("Refund")


class CreditEntry(models.Model):
    """One signed movement of credits. The entries are the truth; the account's
    `credit_balance` is their running sum.

    `reference` is unique across the ledger: a retried operation ("campaign:42:launch",
    "stop:inbound:981") finds its first entry instead of debiting twice.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credit_entries")
    amount = models.BigIntegerField(_("amount"))
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    reference = models.CharField(_("reference"), max_length=200, unique=True)
    balance_after = models.BigIntegerField(_("balance after"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="ledger_by_account")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d} ({self.kind})"


class AuditAction(models.TextChoices):
    ACCOUNT_CREATED = "account_created", _("Account created")
    TYPE_SWITCHED = "type_switched", _("Account type switched")
    STOP_SETTING_CHANGED = "stop_setting_changed", _("STOP mention setting changed")
    CREDITS_ADJUSTED = "credits_adjusted", _("Credits adjusted")
    RATE_CHANGED = "rate_changed", _("Rate changed")


class AuditLog(models.Model):
    """Who changed what, when, from what to what, and why. Written by services only."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_logs"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    before = models.CharField(_("before"), max_length=200, blank=True)
    after = models.CharField(_("after"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.before} → {self.after}"


class CountryRate(models.Model):
    """Credits per SMS segment for one destination region (ISO 3166 alpha-2).

    The row for region "ZZ" is the rate of every country without a row of its own.
    """

    region = models.CharField(_("region"), max_length=2, unique=True)
    credits_per_segment = models.PositiveIntegerField(_("credits per segment"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("country rate")
        verbose_name_plural = _("country rates")
        ordering = ["region"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits_per_segment__gte=1), name="rate_at_least_one_credit"
            )
        ]

    def __str__(self) -> str:
        label = _("any other country") if self.region == DEFAULT_REGION_CODE else self.region
        return f"{label}: {self.credits_per_segment}"


API_KEY_PREFIX = "smsk_"


class ApiKey(models.Model):
    """A secret that lets a program act for one account through the REST API.

    The key itself ("smsk_<prefix>_<secret>") is shown once, when it is created; only its
    SHA-256 is kept (a random 256-bit secret needs no slow hash: nothing to brute-force).
    `prefix` stays visible so people can tell their keys apart. A revoked key is refused
    at once: every request looks the key up by its hash.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(_("prefix"), max_length=24, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Written at most once a minute per key (accounts.services.api_key_touch).
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.display})"

    @property
    def display(self) -> str:
        """What people see of the key: its public start."""
        return f"{API_KEY_PREFIX}{self.prefix}_…"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an `Idempotency-Key` header.

    The row is inserted at the start of the transaction that performs the request's
    effect and gets the answer at its end. A concurrent retry with the same key blocks on
    the unique index until that transaction ends, then finds the row and replays the
    answer; if the first attempt rolled back, the retry's insert succeeds and it runs.
    `fingerprint` (the operation and its input) tells a true retry from a reused key.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    # The JSON text as first sent (jsonb would reorder its keys).
    response = models.TextField(default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "key"], name="one_idempotency_key_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.key} ({self.operation})"
