from __future__ import annotations

from django.urls import path

from campaigns import campaign_views, compose_views, import_views, views

urlpatterns = [
    path("campaigns/", campaign_views.campaigns_index, name="campaign-list"),
    path("campaigns/new/", compose_views.compose, name="compose"),
    path("campaigns/<int:pk>/", campaign_views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:pk>/launch/", campaign_views.campaign_launch, name="campaign-launch"),
    path("campaigns/<int:pk>/pause/", campaign_views.campaign_pause, name="campaign-pause"),
    path("campaigns/<int:pk>/resume/", campaign_views.campaign_resume, name="campaign-resume"),
    path("campaigns/<int:pk>/cancel/", campaign_views.campaign_cancel, name="campaign-cancel"),
    path("campaigns/<int:pk>/delete/", campaign_views.campaign_delete, name="campaign-delete"),
    path("outbox/", campaign_views.outbox, name="outbox"),
    path("campaigns/preview.json", compose_views.preview_json, name="preview-json"),
    path("contacts/", views.contact_list, name="contact-list"),
    path("contacts/import/", import_views.import_upload, name="import-upload"),
    path("contacts/import/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("contacts/import/<int:pk>/columns/", import_views.import_mapping, name="import-mapping"),
    path(
        "contacts/import/<int:pk>/rejected.csv",
        import_views.import_rejections,
        name="import-rejections",
    ),
    path("contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:pk>/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact-delete"),
]
