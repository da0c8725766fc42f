"""The REST API's routes: /api/v1/…, the OpenAPI schema and its documentation pages."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts import api as accounts_api
from blacklist import api as blacklist_api
from callbacks import api as callbacks_api
from campaigns.api import campaigns, contacts, messages

v1 = [
    path("messages", messages.MessagesView.as_view(), name="api-messages"),
    path("messages/preview", messages.MessagePreviewView.as_view(), name="api-message-preview"),
    path("messages/<int:pk>", messages.MessageDetailView.as_view(), name="api-message"),
    path("contacts", contacts.ContactsView.as_view(), name="api-contacts"),
    path("contacts/import", contacts.ContactImportView.as_view(), name="api-contact-import"),
    path("contacts/<int:pk>", contacts.ContactDetailView.as_view(), name="api-contact"),
    path("lists", contacts.ListsView.as_view(), name="api-lists"),
    path("lists/<int:pk>", contacts.ListDetailView.as_view(), name="api-list"),
    path("blacklist", blacklist_api.BlacklistView.as_view(), name="api-blacklist"),
    path("blacklist/export", blacklist_api.BlacklistExportView.as_view()),
    path("blacklist/<int:pk>", blacklist_api.BlacklistEntryView.as_view()),
    path("blacklist/<int:pk>/remove", blacklist_api.BlacklistRemoveView.as_view()),
    path("callbacks", callbacks_api.CallbacksView.as_view(), name="api-callbacks"),
    path("callbacks/<int:pk>", callbacks_api.CallbackDetailView.as_view()),
    path("campaigns", campaigns.CampaignsView.as_view(), name="api-campaigns"),
    path("campaigns/<int:pk>", campaigns.CampaignDetailView.as_view(), name="api-campaign"),
    path("campaigns/<int:pk>/launch", campaigns.CampaignLaunchView.as_view()),
    path("campaigns/<int:pk>/pause", campaigns.CampaignPauseView.as_view()),
    path("campaigns/<int:pk>/resume", campaigns.CampaignResumeView.as_view()),
    path("campaigns/<int:pk>/cancel", campaigns.CampaignCancelView.as_view()),
    path("campaigns/<int:pk>/statistics", campaigns.CampaignStatisticsView.as_view()),
    path("balance", accounts_api.BalanceView.as_view(), name="api-balance"),
    path("ledger", accounts_api.LedgerView.as_view(), name="api-ledger"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
