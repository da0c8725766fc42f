from __future__ import annotations

from django.apps import AppConfig


class SmsPlatformConfig(AppConfig):
    name = "smsplatform"
    verbose_name = "SMS platform"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
