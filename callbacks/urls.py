from __future__ import annotations

from django.urls import path

from callbacks import views

urlpatterns = [
    path("account/api/callbacks/", views.callback_add, name="callback-add"),
    path("account/api/callbacks/<int:pk>/remove/", views.callback_remove, name="callback-remove"),
]
