"""Authorizing requests, resources and whole models against the singleton `Oso`."""

from __future__ import annotations

from typing import Any, Optional

from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q
from django.http import Http404

from oso_core.exceptions import (
    AuthorizationError,
    ForbiddenError,
    NotFoundError,
    StackOverflowError,
    UnsupportedError,
)
from oso_core.expression import Expression
from oso_core.partial import TypeConstraint
from oso_core.variable import Variable

from .oso import Oso, django_model_name, polar_model_name
from .partial import FALSE_FILTER, TRUE_FILTER, translate

__all__ = ["authorize", "authorize_model", "authorize_request", "enforce", "skip_authorization",
           "request_authorized", "authorize_async", "authorize_model_async",
           "authorize_request_async"]


# Beyond this many partial results, `authorize_model` compiles the policy's filter plan instead.
MAX_TRANSLATED_RESULTS = 64


class _UsePlan(Exception):
    pass


def _defaults(request: Any, actor: Any, action: Any) -> tuple:
    if actor is None:
        actor = request.user
    if action is None:
        action = request.method
    return actor, action


def authorize(request: Any, resource: Any, *, actor: Any = None, action: Any = None) -> None:
    """Raise `PermissionDenied` unless `allow(actor, action, resource)` holds.

    `actor` defaults to `request.user`, `action` to `request.method`. The request is marked as
    authorized (for `RequireAuthorization`) before the check, whatever its outcome.
    """
    actor, action = _defaults(request, actor, action)
    allowed = Oso.is_allowed(actor, action, resource)
    _set_request_authorized(request)
    if not allowed:
        raise PermissionDenied()


def authorize_request(request: Any, *, actor: Any = None) -> None:
    """Raise `PermissionDenied` unless `allow_request(actor, request)` holds (actor defaults to
    `request.user`); marks the request as authorized. (An addition to legacy django-oso, whose
    request-level checks use `allow(actor, request.method, request)`: see RouteAuthorization.)"""
    if actor is None:
        actor = request.user
    _set_request_authorized(request)
    try:
        Oso.authorize_request(actor, request)
    except AuthorizationError:
        raise PermissionDenied() from None


def enforce(request: Any, resource: Any, *, actor: Any = None, action: Any = None) -> None:
    """`oso_core.Oso.authorize` for views: raise `Http404` when the actor may not even read the
    resource (its existence is not revealed), `PermissionDenied` (403) when it may read it but
    not perform `action`. Defaults and request marking as in `authorize`. (Not in legacy.)"""
    actor, action = _defaults(request, actor, action)
    _set_request_authorized(request)
    try:
        Oso.authorize(actor, action, resource)
    except NotFoundError:
        raise Http404() from None
    except ForbiddenError:
        raise PermissionDenied() from None


def authorize_model(request: Any, model: Any, *, actor: Any = None, action: Any = None) -> Q:
    """A `Q` selecting the rows of `model` that `allow(actor, action, row)` permits.

    `model` is a model class (or its Polar name, `"app::Model"`); `actor` defaults to
    `request.user`, `action` to `request.method`. Raises `PermissionDenied` when no rule can
    permit any row. Returns `TRUE_FILTER` when every row is permitted.

    Each way the policy can hold is translated as legacy django-oso did (the same `Q`); when one
    uses something that translation cannot express (`or`, `not`, `forall`, two fields compared,
    a variable in two relations, recursive rules ...), the whole filter comes from oso_core's
    filter plan instead (`django_oso.filtering.authorized_q`). Either way it is one SQL query.
    """
    return model_filter(request, model, actor=actor, action=action)


def model_filter(request: Any, model: Any, *, actor: Any = None, action: Any = None,
                 using: Optional[str] = None) -> Q:
    """`authorize_model` for the database `using` (raw SQL of recursive rules is per backend)."""
    actor, action = _defaults(request, actor, action)
    if isinstance(model, str):
        model = apps.get_model(django_model_name(model))
    assert isinstance(model, type) and issubclass(model, Model), f"Expected a model; received: {model}"
    if request is not None:
        _set_request_authorized(request)

    resource = Variable("resource")
    results = Oso.query_rule("allow", actor, action, resource,
                             bindings={resource: TypeConstraint(resource, polar_model_name(model))},
                             accept_expression=True)
    translated: list = []   # (Q, whether it looks through a to-many relation)
    try:
        for count, result in enumerate(results):
            if count == MAX_TRANSLATED_RESULTS:
                # Recursive rules have endless partial results (one per depth): the plan's
                # recursive query covers them all.
                raise _UsePlan()
            value = result["bindings"].get(resource, resource)
            to_many = False
            if isinstance(value, model):
                next_filter = Q(pk=value.pk)
            elif isinstance(value, Expression):
                builder = translate(value, model, allow_variables=False)
                next_filter, to_many = builder.filter, builder.to_many_lookups > 0
            elif isinstance(value, Variable):
                next_filter = TRUE_FILTER   # unconstrained: any row
            else:
                next_filter = FALSE_FILTER  # bound to something that is not a row of model
            if next_filter == TRUE_FILTER:
                results.close()
                return TRUE_FILTER
            translated.append((next_filter, to_many))
    except (UnsupportedError, StackOverflowError, _UsePlan):
        results.close()
        from .filtering import authorized_q
        return authorized_q(actor, action, model, oso=Oso, using=using)
    if not translated:
        raise PermissionDenied()
    if len(translated) == 1:
        return translated[0][0]
    # Several alternatives: one that joins a to-many relation becomes a sub-select, so that OR-ing
    # it with the others cannot repeat a row once per related row.
    pk = model._meta.pk.attname
    combined = Q()
    for next_filter, to_many in translated:
        if to_many:
            next_filter = Q(pk__in=model._base_manager.filter(next_filter).values(pk))
        combined |= next_filter
    return combined


def skip_authorization(request: Any) -> None:
    """Mark `request` as not needing authorization (for `RequireAuthorization`)."""
    _set_request_authorized(request)


def request_authorized(request: Any) -> bool:
    """True if `authorize` (or `skip_authorization`, ...) was called for `request`."""
    return getattr(request, "_oso_authorized", False)


def _set_request_authorized(request: Any) -> None:
    try:
        request._oso_authorized = True
    except AttributeError:
        pass   # not a request object (e.g. None in scripts): nothing to mark


# --- async -------------------------------------------------------------------------------------
#
# A policy may read model attributes that Django loads lazily (`post.author.name`) or iterate
# related managers, and `request.user` itself is a lazy database lookup: evaluating a policy can
# touch the ORM, which Django forbids in the event loop. These run the check in Django's sync
# thread (`sync_to_async`, thread-sensitive), so they never block the loop nor raise
# `SynchronousOnlyOperation`.

async def authorize_async(request: Any, resource: Any, *, actor: Any = None, action: Any = None) -> None:
    """`authorize` for async views: `await authorize_async(request, post, action="read")`."""
    await sync_to_async(authorize)(request, resource, actor=actor, action=action)


async def authorize_request_async(request: Any, *, actor: Any = None) -> None:
    """`authorize_request` for async views."""
    await sync_to_async(authorize_request)(request, actor=actor)


async def authorize_model_async(request: Any, model: Any, *, actor: Any = None, action: Any = None) -> Q:
    """`authorize_model` for async views (the `Q`; run the query with `async for` / `aget`...)."""
    return await sync_to_async(authorize_model)(request, model, actor=actor, action=action)
