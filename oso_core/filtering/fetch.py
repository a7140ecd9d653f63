"""Reading a declared `Relation` field of an object through the data-filtering adapter.

Legacy oso fetches `obj.org` for `fields={"org": Relation("one", "Org", "org_id", "id")}` with
the adapter (`Org` rows whose `id` equals `obj.org_id`) instead of calling getattr; so do we.
"""

from __future__ import annotations

from typing import Any

from ..data.filter import Condition, DataFilter, Projection
from ..data_filtering import Relation
from ..runtime.async_bridge import await_if_async
from ..runtime.host_interface import RelationFetchError
from .plan import Compare, Field, FilterPlan, Row, Value


def fetch_related(host: Any, obj: Any, field: str, relation: Relation) -> Any:
    """The object (`kind="one"`) or list (`"many"`) that `obj.field` refers to (the runtime's
    `RelationFetcher`, installed on each Polar's host)."""
    adapter = host.adapter
    owner = host.class_name(type(obj)) or type(obj).__name__
    if adapter is None:
        raise RelationFetchError(
            f"{owner}.{field} is declared as a Relation field, which is read through the "
            f"data-filtering adapter, and no adapter is set: call oso.set_data_filtering_adapter(...)")
    other = host.get_class(relation.other_type)
    value = await_if_async(getattr(obj, relation.my_field))   # awaited in async calls
    if hasattr(adapter, "build_query_from_plan"):
        root = Row(other, relation.other_type, relation.other_type.lower())
        query = adapter.build_query_from_plan(
            FilterPlan(root, Compare("Eq", Field(root, relation.other_field), Value(value)), {}))
    else:
        condition = Condition(Projection(other, relation.other_field), "Eq", value)
        query = adapter.build_query(DataFilter(other, [], [[condition]], host.types))
    results = list(await_if_async(adapter.execute_query(query)))
    if relation.kind == "one":
        if len(results) != 1:
            raise RelationFetchError(
                f"{owner}.{field} is a to-one Relation, but {len(results)} {relation.other_type} "
                f"rows have {relation.other_field} = {value!r}")
        return results[0]
    return results
