"""The REST API's routes: /api/v1/…, the OpenAPI schema and its documentation pages."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts import api as accounts_api
from campaigns.api import messages

v1 = [
    path("messages", messages.MessagesView.as_view(), name="api-messages"),
    path("messages/preview", messages.MessagePreviewView.as_view(), name="api-message-preview"),
    path("messages/<int:pk>", messages.MessageDetailView.as_view(), name="api-message"),
    path("balance", accounts_api.BalanceView.as_view(), name="api-balance"),
    path("ledger", accounts_api.LedgerView.as_view(), name="api-ledger"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
