"""Gateways: how messages leave the platform. `get_gateway()` gives the configured one."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.urls import reverse

from campaigns.gateways.base import Gateway, OutgoingSms, Pacer, SendResult

__all__ = ["Gateway", "OutgoingSms", "Pacer", "SendResult", "get_gateway", "report_url"]


def report_url() -> str:
    """The delivery-report webhook as the gateway must call it, secret included."""
    path = reverse("kannel-report")
    return f"{settings.SMS_PUBLIC_URL}{path}?secret={settings.KANNEL_REPORT_SECRET}"


@cache
def get_gateway(name: str | None = None) -> Gateway:
    """The gateway named in SMS_GATEWAY (one instance per process: it holds connections)."""
    name = name or settings.SMS_GATEWAY
    if name == "kannel":
        from campaigns.gateways.kannel import KannelGateway

        return KannelGateway(
            sendsms_url=settings.KANNEL_SENDSMS_URL,
            username=settings.KANNEL_USERNAME,
            password=settings.KANNEL_PASSWORD,
            report_url=report_url(),
            max_per_second=settings.KANNEL_MAX_PER_SECOND,
            connections=settings.KANNEL_CONNECTIONS,
            dlr_mask=settings.KANNEL_DLR_MASK,
        )
    from campaigns.gateways.local import LocalGateway

    return LocalGateway(max_per_second=settings.SMS_LOCAL_MAX_PER_SECOND)
