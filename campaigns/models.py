"""Contacts of an account (lists, campaigns and messages build on them)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class ConsentBasis(models.TextChoices):
    # French law (CNIL) requires prior explicit consent for commercial SMS; we keep the
    # proof the marketer gives us, we cannot check it.
    UNKNOWN = "", _("Not recorded")
    OPT_IN = "opt_in", _("Explicit opt-in")
    CUSTOMER = "customer", _("Existing customer, similar products")
    OTHER = "other", _("Other (see note)")


class Contact(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    phone_number = models.CharField(_("phone number"), max_length=16)  # E.164
    # Stored once when the number is read, so dispatch and pricing never re-parse it.
    region = models.CharField(_("country"), max_length=2)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    consent_basis = models.CharField(
        _("consent"), max_length=20, choices=ConsentBasis.choices, blank=True
    )
    consent_at = models.DateTimeField(_("consent date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "phone_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "phone_number"], name="one_contact_per_number"
            )
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.phone_number}>" if name else self.phone_number
