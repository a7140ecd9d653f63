"""Data filtering for async endpoints: the policy as a SQLAlchemy `Select`."""

from __future__ import annotations

from typing import Any

from oso_core import Oso


async def authorized_select(oso: Oso, actor: Any, action: Any, model: type) -> Any:
    """`select(model).where(<policy>)`, built in the async engine.

    Not `oso.authorized_query_async`: that compiles through the data-filtering adapter set on the
    `Oso`, one for the whole process, while each request has its own `AsyncSession`. Building the
    plan needs no session at all; the caller runs the statement on its own.
    """
    from oso_core.data.adapter.sqlalchemy_adapter import build_select
    from oso_core.filtering import build_filter_plan_async

    return build_select(await build_filter_plan_async(oso, actor, action, model))
