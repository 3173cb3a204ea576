from django.contrib import admin
from django.urls import include, path

from rollout.api import api
from rollout.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("accounts.urls")),
    path("", include("rollout.urls")),
]
