from django.apps import AppConfig


class GithubConfig(AppConfig):
    name = "example_apps.github_django.github"
    label = "github"
    default_auto_field = "django.db.models.AutoField"
