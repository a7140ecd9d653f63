"""The singleton `Oso` of a Django project: model registration and policy loading.

`init_oso()` runs once, from `DjangoOsoConfig.ready()`: it teaches the engine Django's field types,
registers every installed model as `<app_label>::<ModelName>` (plus `AnonymousUser` and
`HttpRequest`), installs the Django data-filtering adapter and loads every `*.polar` file found
under the `policy/` folder of each installed app, in one load.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional

from django.apps import apps
from django.http import HttpRequest

from oso_core.exceptions import DuplicateClassAliasError

from .singleton import Oso

__all__ = ["Oso", "polar_model_name", "django_model_name", "init_oso", "load_policy_files",
           "reset_oso", "policy_files", "policy_dirs"]


_lock = threading.RLock()


def polar_model_name(model: Any) -> str:
    """The Polar name of a Django model: `<app_label with . as ::>::<ModelName>`."""
    app_namespace = model._meta.app_label.replace(".", "::")
    return f"{app_namespace}::{model.__name__}"


def django_model_name(polar_name: str) -> str:
    """`"app::Model"` -> `"app.Model"` (the form `apps.get_model` takes)."""
    return polar_name.replace("::", ".")


def _register(cls: type, name: Optional[str] = None) -> None:
    try:
        Oso.register_class(cls, name=name)
    except DuplicateClassAliasError:
        pass   # already registered (init_oso ran before, or the project registered it itself)


def init_oso() -> list[str]:
    """Set the singleton up for the installed apps and load their policies; the loaded files."""
    from .filtering import DjangoOsoAdapter, field_type

    with _lock:
        default_get_field = Oso.host._default_get_field
        Oso.host.get_field = lambda cls, field: field_type(cls, field, default_get_field)
        if not isinstance(Oso.host.adapter, DjangoOsoAdapter):
            Oso.set_data_filtering_adapter(DjangoOsoAdapter())

        for app in apps.get_app_configs():
            for model in app.get_models():
                _register(model, polar_model_name(model))

        if apps.is_installed("django.contrib.auth"):
            from django.contrib.auth.models import AnonymousUser

            # Under the `auth` label, like the default user model, and under its full name.
            _register(AnonymousUser, "auth::AnonymousUser")
            _register(AnonymousUser, "django::contrib::auth::AnonymousUser")

        _register(HttpRequest)
        return load_policy_files()


def policy_dirs() -> list[str]:
    """The `policy/` folder of every installed app that has one, in INSTALLED_APPS order."""
    dirs = []
    for app in apps.get_app_configs():
        path = os.path.join(app.path, "policy")
        if os.path.isdir(path):
            dirs.append(path)
    return dirs


def policy_files() -> list[str]:
    """Every `*.polar` file under the apps' `policy/` folders (recursively, sorted per folder)."""
    files = []
    for policy_dir in policy_dirs():
        found = []
        for path, _, filenames in os.walk(policy_dir):
            found.extend(os.path.join(path, f) for f in filenames if os.path.splitext(f)[1] == ".polar")
        files.extend(sorted(found))
    return files


def load_policy_files() -> list[str]:
    """Load the apps' policy files into the singleton, in one load; returns their paths.

    Raises like `Oso.load_files` (e.g. a second load without `clear_rules()`): use `reset_oso()`
    to reload.
    """
    files = policy_files()
    with _lock:
        Oso.load_files(files)
    return files


def reset_oso() -> list[str]:
    """Replace the loaded rules with the current contents of the apps' policy files.

    Legacy `clear_rules()` + `load_policy_files()`, done atomically: queries running meanwhile
    see the old or the new policy, never an empty one, and a policy that fails to load leaves the
    old one in place (the error is raised).
    """
    files = policy_files()
    with _lock:
        if files:
            Oso.reload_files(files)
        else:
            Oso.clear_rules()
    return files
