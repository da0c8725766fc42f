"""URLs an account registers to hear about its messages' delivery and its replies."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class CallbackEvent(models.TextChoices):
    MESSAGE_STATUS = "message.status", _("Delivery status changes")
    INBOUND = "inbound", _("Replies (STOP included)")


class CallbackEndpoint(models.Model):
    """One URL of an account, the events it wants, and how its last call went.

    Calls are signed like the inbound JSON webhook: `X-Signature` is
    hex(HMAC-SHA256(secret, "<X-Signature-Timestamp>." + body)). HMAC needs the secret
    itself, so it is kept sealed with a key derived from SECRET_KEY (blacklist/signing.py)
    and shown once, when the endpoint is created.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="callbacks")
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    signing_secret = models.TextField(editable=False)
    secret_hint = models.CharField(_("secret starts with"), max_length=8, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The last call's outcome: the HTTP status (None: no answer), when, and why it failed.
    last_status = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)
    last_at = models.DateTimeField(_("last call"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("callback URL")
        verbose_name_plural = _("callback URLs")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["active"], name="active_callbacks")]

    def __str__(self) -> str:
        return self.url

    @property
    def last_ok(self) -> bool:
        return self.last_status is not None and 200 <= self.last_status < 300
