from __future__ import annotations

from django.urls import path

from accounts import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("settings/", views.settings_profile, name="settings"),
    path("settings/alerts/", views.settings_alerts, name="settings-alerts"),
    path("account/switch/", views.switch_account, name="account-switch"),
    path("account/api/", views.api_page, name="api-page"),
    path("account/api/keys/<int:pk>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
