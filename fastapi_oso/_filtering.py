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
    from oso_core.filtering.plan_cache import cached_filter_plan
    from oso_core.runtime.async_bridge import run_async

    plan, _ = await run_async(cached_filter_plan, oso, actor, action, model)
    return build_select(plan)
