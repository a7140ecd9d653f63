"""Authorization of SQLAlchemy models: model registration and `authorize_model`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Query, Session
from sqlalchemy.sql import expression as sql

from oso_core import Oso
from oso_core.data.adapter.sqlalchemy_compiler import compile_plan
from oso_core.exceptions import DuplicateClassAliasError, OsoError
from oso_core.filtering.plan_cache import cached_filter_plan

from ._orm import install_orm_introspection, mapper_of
from .compat import iterate_model_classes

__all__ = ["authorize_model", "default_polar_model_name", "null_query", "register_models"]


def default_polar_model_name(model: type) -> str:
    """The Polar class name `register_models` gives a model: its Python class name."""
    return model.__name__


def null_query(session: Session, model: Any) -> Query:
    """A query of `model` that returns no rows."""
    return session.query(model).filter(sql.false())


def register_models(oso: Oso, base_or_registry: Any) -> None:
    """Register every mapped class of a declarative base (or `registry`) with `oso`.

    Classes the application registered already (under any name) are skipped; the others are
    registered under `default_polar_model_name(model)`. Two classes with the same name raise
    `OsoError`: register one of them by hand first, under another name.
    """
    install_orm_introspection(oso)
    for model in iterate_model_classes(base_or_registry):
        if model in oso.host.types:
            continue
        try:
            oso.register_class(model, name=default_polar_model_name(model))
        except DuplicateClassAliasError as e:
            raise OsoError(
                "Attempted to register two classes with the same name when automatically "
                "registering SQLAlchemy models\n"
                "To fix this, try manually registering the new class. E.g.\n"
                '  oso.register_class(MyModel, name="models::MyModel")\n'
                "  register_models(oso, Base)\n"
            ) from e


def authorize_model(oso: Oso, actor: Any, action: Any, session: Session, model: Any) -> Any:
    """A SQL expression selecting the rows of `model` that `actor` may `action`.

    `model` is a mapped class or an alias of one (`sqlalchemy.orm.aliased`). The policy's
    `allow(actor, action, resource)` rules are turned into one WHERE clause (EXISTS subqueries
    for relationships, recursive CTEs for recursive rules); no matching rule gives `false()`.
    A policy that cannot be translated faithfully raises `oso_core.exceptions.UnsupportedError`
    (an `OsoError`) — never an unfiltered result.
    """
    return _authorize(oso, actor, action, model, alias_related=False)


def _authorize(oso: Oso, actor: Any, action: Any, model: Any, alias_related: bool) -> Any:
    mapper = mapper_of(model)
    if mapper is None or not (isinstance(model, type) or sa.inspect(model).is_aliased_class):
        raise TypeError(f"Expected a model; received: {model}")
    install_orm_introspection(oso)
    plan, _ = cached_filter_plan(oso, actor, action, mapper.class_)   # docs/data-filtering.md
    # Aliased related rows for the session hooks: see `legacy_shape` in `compile_plan`.
    return compile_plan(plan, model, relationships=True, legacy_shape=not alias_related,
                        host=oso.host)
