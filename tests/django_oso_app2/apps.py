from django.apps import AppConfig


class DjangoOsoApp2Config(AppConfig):
    name = "django_oso_app2"
    label = "django_oso_app2"
    default_auto_field = "django.db.models.AutoField"
