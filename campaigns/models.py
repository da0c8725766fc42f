"""Contacts of an account (lists, campaigns and messages build on them)."""

from __future__ import annotations

from django.conf import settings
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


class ContactList(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_lists")
    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="one_list_name_per_account")
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    lists = models.ManyToManyField(
        ContactList, related_name="contacts", blank=True, verbose_name=_("lists")
    )
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


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("Waiting for the column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ContactImport(models.Model):
    """One CSV file on its way into an account's contacts, read in the background.

    The file stays on disk (`path`) and is read a batch at a time; the row counters
    are the progress bar and the final report.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    target_list = models.ForeignKey(
        ContactList, on_delete=models.SET_NULL, null=True, blank=True, related_name="imports"
    )
    original_name = models.CharField(_("file"), max_length=255)
    path = models.CharField(max_length=500)
    size = models.BigIntegerField(_("size"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20)
    delimiter = models.CharField(_("separator"), max_length=1)
    has_header = models.BooleanField(_("first line is a header"), default=True)
    columns = models.JSONField(_("columns"), default=list)  # header names or "Column N"
    mapping = models.JSONField(_("mapping"), default=dict)  # {"0": "phone_number", ...}
    consent_basis = models.CharField(
        _("consent"), max_length=20, choices=ConsentBasis.choices, blank=True
    )
    consent_at = models.DateTimeField(_("consent date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    created_count = models.PositiveIntegerField(_("contacts created"), default=0)
    merged_count = models.PositiveIntegerField(_("contacts merged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rows rejected"), default=0)
    blacklisted_count = models.PositiveIntegerField(_("numbers on the Blacklist"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.processed_rows * 100 // self.total_rows)

    @property
    def finished(self) -> bool:
        return self.status in {ImportStatus.DONE, ImportStatus.FAILED}


class ImportRejection(models.Model):
    """A row of an import that was not taken, with why: the downloadable report."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="rejections"
    )
    line = models.PositiveIntegerField(_("line"))
    value = models.CharField(_("value"), max_length=255)
    reason = models.CharField(_("reason"), max_length=255)

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["contact_import", "line"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
