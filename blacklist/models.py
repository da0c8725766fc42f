"""The Blacklist (numbers an account must never message again), the replies that feed
it, and the gateway connections replies arrive through."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class BlacklistSource(models.TextChoices):
    STOP_SMS = "stop_sms", _("STOP reply")
    WEB = "web", _("Unsubscribe page")
    MANUAL = "manual", _("Added by the account")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    SUPPORT = "support", _("Added by support")


class GatewayKind(models.TextChoices):
    KANNEL = "kannel", _("Kannel (get-url / post-url)")
    JSON = "json", _("JSON, signed with HMAC-SHA256")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class GatewayConnection(models.Model):
    """A carrier link replies arrive through, with its own secret (stored hashed).

    Kannel's get-url carries the secret as a token in the URL; a JSON carrier signs each
    request with it. Support staff rotate it in the admin; it is shown once.
    """

    name = models.SlugField(_("name"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=GatewayKind.choices)
    shortcode = models.CharField(_("shortcode"), max_length=15, default="")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    # HMAC needs the secret itself, so a JSON connection also keeps it encrypted with a
    # key derived from SECRET_KEY (blacklist/signing.py): the database alone gives
    # neither the token nor the signing key.
    signing_secret = models.TextField(blank=True, editable=False)
    secret_hint = models.CharField(_("secret starts with"), max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)

    class Meta:
        verbose_name = _("gateway connection")
        verbose_name_plural = _("gateway connections")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.shortcode:
            self.shortcode = settings.SMS_SHORTCODE
        super().save(*args, **kwargs)


class InboundStatus(models.TextChoices):
    BLACKLISTED = "blacklisted", _("STOP: number blacklisted")
    ALREADY = "already", _("STOP: already on the Blacklist")
    UNATTRIBUTED = "unattributed", _("STOP: no account found")
    RESUBSCRIBED = "resubscribed", _("START: number removed from the Blacklist")
    START_IGNORED = "start_ignored", _("START: nothing to remove")
    HELP = "help", _("Help request")
    REPLY = "reply", _("Reply")
    UNKNOWN_SENDER = "unknown_sender", _("Reply from a number no account messaged")


class InboundMessage(models.Model):
    """A reply as the carrier delivered it: stored first, processed once.

    Unique per (connection, carrier's message id): a carrier retrying the same message
    gets its 2xx and changes nothing.
    """

    connection = models.ForeignKey(GatewayConnection, on_delete=models.PROTECT)
    carrier_id = models.CharField(_("carrier message id"), max_length=100)
    sender = models.CharField(_("from"), max_length=16)  # E.164
    receiver = models.CharField(_("to"), max_length=20)
    text = models.TextField(_("text"))
    intent = models.CharField(_("read as"), max_length=10)
    rule = models.CharField(_("rule"), max_length=10)
    status = models.CharField(_("outcome"), max_length=16, choices=InboundStatus.choices)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )
    # The message the reply answers (attribution), when one is found.
    answers = models.ForeignKey(
        "campaigns.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "carrier_id"], name="one_inbound_per_carrier_id"
            )
        ]
        indexes = [models.Index(fields=["status", "-received_at"], name="inbound_by_status")]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"


class UnattributedStop(InboundMessage):
    """The admin's queue of STOPs no account could be found for."""

    class Meta:
        proxy = True
        verbose_name = _("unattributed STOP reply")
        verbose_name_plural = _("Unattributed STOP replies")


class RejectedInbound(models.Model):
    """An authenticated request the webhook could not read, kept for support (400)."""

    connection = models.ForeignKey(GatewayConnection, on_delete=models.CASCADE)
    reason = models.CharField(_("reason"), max_length=255)
    raw = models.TextField(_("request"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("rejected inbound request")
        verbose_name_plural = _("rejected inbound requests")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.connection}: {self.reason}"


class BlacklistEntry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="blacklist")
    phone_number = models.CharField(_("phone number"), max_length=16)  # E.164
    source = models.CharField(_("source"), max_length=10, choices=BlacklistSource.choices)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    inbound = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmation = models.ForeignKey(
        "campaigns.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    # The consent the STOP revokes, as the contact had it ("" when none was recorded).
    revoked_consent = models.CharField(_("consent revoked"), max_length=255, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("Blacklist entry")
        verbose_name_plural = _("Blacklist")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "phone_number"], name="one_blacklist_entry_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} ({self.account})"


class BlacklistEvent(models.Model):
    """The history of a number on an account's Blacklist: added, removed, and why."""

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    phone_number = models.CharField(_("phone number"), max_length=16)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    source = models.CharField(_("source"), max_length=10, choices=BlacklistSource.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    inbound = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("Blacklist event")
        verbose_name_plural = _("Blacklist history")
        ordering = ["-at"]
        indexes = [models.Index(fields=["account", "phone_number"], name="blacklist_history")]

    def __str__(self) -> str:
        return f"{self.phone_number} {self.action} ({self.source})"
