"""`OsoBackend`: Django's permission checks (`user.has_perm`, the admin, `permission_required`,
third-party apps) answered by the policy.

    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",   # logs users in (and its own permissions)
        "django_oso.backends.OsoBackend",
    ]

A permission is `"<app_label>.<codename>"`. Django's model permissions have codenames
`<verb>_<model_name>` (`view_post`, `add_post`, `change_post`, `delete_post`); the backend asks

* `user.has_perm("blog.change_post", post)` -> `allow(user, "change", post)`;
* `user.has_perm("blog.add_post")` (no object) -> `allow(user, "add", blog::Post)`: the resource
  is the model class itself, matched in a policy by the class name, e.g.
  `allow(user: auth::User, "add", blog::Post) if user.is_staff;`;
* any other codename is the action as it is: `user.has_perm("blog.publish", post)` ->
  `allow(user, "publish", post)`, and without an object `allow(user, "publish", "blog")` (the
  app label).

Django grants every permission to active superusers before asking any backend. Inactive users
get no permission from this backend (as with `ModelBackend`); anonymous users are asked about.
The backend authenticates no one (`authenticate` returns None).
"""

from __future__ import annotations

from typing import Any, Optional

from django.apps import apps
from django.contrib.auth.backends import BaseBackend

from .oso import Oso

__all__ = ["OsoBackend", "permission_query"]

MODEL_VERBS = ("view", "add", "change", "delete")


def _model_named(app_label: str, model_name: str) -> Optional[type]:
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


def permission_query(perm: str, obj: Any = None) -> tuple[Any, Any]:
    """The `(action, resource)` that `has_perm(perm, obj)` asks the policy about."""
    app_label, _, codename = perm.partition(".")
    verb, _, model_name = codename.partition("_")
    if obj is not None:
        meta = getattr(obj, "_meta", None)
        if model_name and meta is not None and meta.model_name == model_name \
                and meta.app_label == app_label:
            return verb, obj
        return codename, obj
    model = _model_named(app_label, model_name) if model_name else None
    if model is not None:
        return verb, model
    return codename, app_label


class OsoBackend(BaseBackend):
    """Answers `has_perm` / `has_module_perms` from the policy's `allow` rules."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def _may_ask(self, user_obj: Any) -> bool:
        return bool(getattr(user_obj, "is_active", False) or getattr(user_obj, "is_anonymous", False))

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if not self._may_ask(user_obj):
            return False
        action, resource = permission_query(perm, obj)
        return Oso.is_allowed(user_obj, action, resource)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        """True if the user has some model-level permission on a model of the app (what the
        admin index asks before listing the app)."""
        if not self._may_ask(user_obj):
            return False
        try:
            models = apps.get_app_config(app_label).get_models()
        except LookupError:
            return False
        return any(Oso.is_allowed(user_obj, verb, model) for model in models for verb in MODEL_VERBS)
