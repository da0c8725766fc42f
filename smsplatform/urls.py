from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from accounts import views as account_views
from blacklist import unsubscribe
from blacklist import webhooks as blacklist_webhooks
from campaigns import webhooks
from smsplatform import views

admin.site.site_header = "SMS platform — support"
admin.site.site_title = "SMS platform support"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("webhooks/kannel/report/", webhooks.kannel_report, name="kannel-report"),
    path(
        "webhooks/kannel/inbound/<str:token>/",
        blacklist_webhooks.kannel_inbound,
        name="kannel-inbound",
    ),
    path("webhooks/inbound/<str:name>/", blacklist_webhooks.json_inbound, name="json-inbound"),
    path("api/", include("smsplatform.api.urls")),
    # Before Django's own: the login and password-reset pages with their rate limits.
    path("login/", account_views.Login.as_view(), name="login"),
    path("password_reset/", account_views.PasswordReset.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
    path("", include("accounts.urls")),
    path("", include("campaigns.urls")),
    path("", include("blacklist.urls")),
    path("", include("callbacks.urls")),
    # The international mention's link, "<SMS_UNSUBSCRIBE_HOST>/<code>": last, so that
    # every other page wins.
    re_path(r"^(?P<code>[a-zA-Z0-9]{2,12})/?$", unsubscribe.unsubscribe, name="unsubscribe"),
]

# A JSON 404 under /api/, Django's page elsewhere.
handler404 = "smsplatform.api.exceptions.not_found"
