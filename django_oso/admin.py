"""`OsoModelAdminMixin`: object-level permissions and policy-filtered change lists in the admin.

Django's `ModelAdmin.has_change_permission(request, obj)` asks `user.has_perm("app.change_x")`
without the object, so with `OsoBackend` alone the admin gets model-level answers
(`allow(user, "change", app::X)`). Mixed into a `ModelAdmin`, this class passes the object along
(`allow(user, "change", obj)`) and shows, in the change list, only the rows the policy lets the
user view (`authorize_model(request, Model, action="view")`; superusers see every row).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied

from .auth import authorize_model

__all__ = ["OsoModelAdminMixin"]


class OsoModelAdminMixin:
    """Use as `class PostAdmin(OsoModelAdminMixin, admin.ModelAdmin)`."""

    def _has(self, request: Any, verb: str, obj: Any) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(verb, opts)}", obj)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return self._has(request, "view", obj) or self._has(request, "change", obj)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return self._has(request, "change", obj)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return self._has(request, "delete", obj)

    def get_queryset(self, request: Any) -> Any:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        try:
            return queryset.filter(pk__in=queryset.filter(
                authorize_model(request, queryset.model, action="view")).values("pk"))
        except PermissionDenied:
            return queryset.none()
