from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlacklistConfig(AppConfig):
    name = "blacklist"
    verbose_name = _("Blacklist and replies")
