"""`AuthorizedModel` / `AuthorizedQuerySet`: querysets filtered by the policy, in one query."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import models

from .auth import authorize_model, model_filter
from .partial import TRUE_FILTER

__all__ = ["AuthorizedModel", "AuthorizedQuerySet", "authorize_model"]


class AuthorizedQuerySet(models.QuerySet):
    """A `QuerySet` with `authorize()`: only the rows the policy permits."""

    def __repr__(self) -> str:
        # Shows the SQL without running the query.
        try:
            return f"<AuthorizedQuerySet {self.query}>"
        except EmptyResultSet:
            return "<AuthorizedQuerySet (no rows)>"

    def authorize(self, request: Any, *, actor: Any = None, action: Any = None) -> AuthorizedQuerySet:
        """This queryset restricted to the rows `allow(actor, action, row)` permits.

        `actor` defaults to `request.user`, `action` to `request.method`. No permitting rule:
        an empty queryset (`none()`). The filter is a sub-select on the primary key, so rows are
        never duplicated and later `filter()` / `annotate()` / `distinct()` calls chain normally.
        """
        try:
            q = model_filter(request, self.model, actor=actor, action=action, using=self.db)
        except PermissionDenied:
            return self.none()
        if q == TRUE_FILTER:
            return self.filter(TRUE_FILTER)
        return self.filter(pk__in=self.filter(q))

    async def authorize_async(self, request: Any, *, actor: Any = None,
                              action: Any = None) -> AuthorizedQuerySet:
        """`authorize` for async views (policy evaluation may use the ORM: it runs in the sync
        thread); iterate the result with `async for`."""
        return await sync_to_async(self.authorize)(request, actor=actor, action=action)


class AuthorizedModel(models.Model):
    """Abstract model whose `objects` manager has `authorize()` (see `AuthorizedQuerySet`)."""

    objects = AuthorizedQuerySet.as_manager()

    class Meta:
        abstract = True
