"""The `django_oso` app: sets the singleton `Oso` up when Django starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.utils.autoreload import autoreload_started

from .oso import init_oso, policy_dirs


def watch_policies(sender: Any, **kwargs: Any) -> None:
    """Make the development server restart when a policy file changes (or is added)."""
    for directory in policy_dirs():
        sender.watch_dir(Path(directory), "**/*.polar")


class DjangoOsoConfig(AppConfig):
    name = "django_oso"
    verbose_name = "oso authorization"

    def ready(self) -> None:
        from django.conf import settings

        self.loaded_files = init_oso()
        if getattr(settings, "OSO_RELOAD_SERVER", True):
            autoreload_started.connect(watch_policies, dispatch_uid="django_oso.watch_policies")
