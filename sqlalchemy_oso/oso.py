"""`SQLAlchemyOso`: an `Oso` with every model of a declarative base registered."""

from __future__ import annotations

from typing import Any

from oso_core import Oso

from .auth import register_models

__all__ = ["SQLAlchemyOso"]


class SQLAlchemyOso(Oso):
    """`Oso()` plus `register_models(self, sqlalchemy_base)`; the base is kept as `base`.

    (Legacy's roles API, `enable_roles`, was removed in legacy 0.20 in favour of resource
    blocks and is not provided.)
    """

    def __init__(self, sqlalchemy_base: Any) -> None:
        super().__init__()
        register_models(self, sqlalchemy_base)
        self.base = sqlalchemy_base
