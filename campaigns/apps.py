from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Contacts and campaigns")

    def ready(self) -> None:
        from smsplatform.ticker import start_if_embedded

        start_if_embedded()
