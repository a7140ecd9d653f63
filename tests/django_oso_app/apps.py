from django.apps import AppConfig


class DjangoOsoAppConfig(AppConfig):
    name = "django_oso_app"
    label = "django_oso_app"
    default_auto_field = "django.db.models.AutoField"
