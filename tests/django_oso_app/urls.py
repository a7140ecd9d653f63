from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("posts/", views.post_list),
    path("secret/", views.secret),
    path("secret-stream/", views.secret_stream),
    path("async/secret/", views.async_secret),
    path("async/resource/", views.async_resource),
    path("async/decorated/", views.async_decorated),
    path("async/request/", views.async_request_decorated),
    path("async/skipped/", views.async_skipped),
    path("async/posts/", views.async_post_list),
    path("async/article/", views.async_user_article),
    path("", include("django_oso.test_urls")),
]
