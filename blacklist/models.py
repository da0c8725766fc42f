"""The Blacklist: numbers an account must never message again."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class BlacklistSource(models.TextChoices):
    STOP_SMS = "stop_sms", _("STOP reply")
    WEB = "web", _("Unsubscribe page")
    MANUAL = "manual", _("Added by the account")
    SUPPORT = "support", _("Added by support")


class BlacklistEntry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="blacklist")
    phone_number = models.CharField(_("phone number"), max_length=16)  # E.164
    source = models.CharField(_("source"), max_length=10, choices=BlacklistSource.choices)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

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
