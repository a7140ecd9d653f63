"""App configuration of the Django filter-adapter test app."""

from django.apps import AppConfig


class FilterDjangoAppConfig(AppConfig):
    name = "filter_django_app"
    label = "filter_django_app"
    default_auto_field = "django.db.models.BigAutoField"
