"""`Oso`: the authorization API on top of the Polar engine."""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from .exceptions import ForbiddenError, NotFoundError, OsoError
from .polar import Polar
from .runtime.async_bridge import await_if_async, run_async
from .variable import Variable

if TYPE_CHECKING:
    from .tooling.decision_log import Decision
    from .tooling.explain import Explanation

__version__ = "0.27.3"

_WILDCARD_ERROR = """The result of {method}() contained an
                        "unconstrained" {what} that could represent any
                        {what}, but allow_wildcard was set to False. To fix,
                        set allow_wildcard to True and compare with the "*"
                        string."""

_LEGACY_FUNCTIONS_ERROR = (
    "{method}() uses a data-filtering adapter, and none is set. The build_query, exec_query and "
    "combine_query functions passed to register_class are the oso 0.25 API, which was replaced by "
    "adapters: remove them and call oso.set_data_filtering_adapter(adapter) with an adapter for "
    "your store (oso_core.data.adapter.sqlalchemy_adapter.SqlAlchemyAdapter(session), "
    "oso_core.data.adapter.django_adapter.DjangoAdapter(), or your own DataAdapter subclass with "
    "build_query(filter) and execute_query(query)). See docs/data-filtering.md.")

TRACING_BANNER = ("Polar tracing enabled. Get help with traces from our engineering team: "
                  "https://help.osohq.com/trace")


class Oso(Polar):
    """Answers "may this actor do this action to that resource?" from a Polar policy."""

    def __init__(self, *, forbidden_error: Callable[[], Exception] = ForbiddenError,
                 not_found_error: Callable[[], Exception] = NotFoundError, read_action: Any = "read") -> None:
        super().__init__()
        self.forbidden_error = forbidden_error
        self.not_found_error = not_found_error
        self.read_action = read_action
        self._decision_log: Any = None  # tooling.decision_log.DecisionLog while a logger is set
        log = os.environ.get("POLAR_LOG")
        if log and log not in ("0", "off"):
            print(TRACING_BANNER)

    # Decisions -------------------------------------------------------------------------------

    # With a decision logger set, each method hands over to `self._decision_log`, which runs the
    # same logic with recording; without one, that attribute check is all it costs.

    def is_allowed(self, actor: Any, action: Any, resource: Any) -> bool:
        """True if `allow(actor, action, resource)` has a result."""
        if self._decision_log is not None:
            return self._decision_log.is_allowed(actor, action, resource)
        return self._holds("allow", [actor, action, resource])

    def authorize(self, actor: Any, action: Any, resource: Any, *, check_read: bool = True) -> None:
        """Raise `not_found_error()` or `forbidden_error()` unless the action is allowed."""
        if self._decision_log is not None:
            return self._decision_log.authorize(actor, action, resource, check_read)
        denial = self._denial(self._holds, actor, action, resource, check_read)
        if denial is not None:
            raise denial()

    def _denial(self, holds: Callable[[str, list], bool], actor: Any, action: Any, resource: Any,
                check_read: bool) -> Optional[Callable[[], Exception]]:
        """`authorize`'s decision: None if allowed, else the error factory to raise."""
        if holds("allow", [actor, action, resource]):
            return None
        if check_read and (action == self.read_action or not holds("allow", [actor, self.read_action, resource])):
            return self.not_found_error
        return self.forbidden_error

    def authorize_request(self, actor: Any, request: Any) -> None:
        """Raise `forbidden_error()` unless `allow_request(actor, request)` holds."""
        if self._decision_log is not None:
            return self._decision_log.authorize_request(actor, request)
        if not self._holds("allow_request", [actor, request]):
            raise self.forbidden_error()

    def authorize_field(self, actor: Any, action: Any, resource: Any, field: Any) -> None:
        """Raise `forbidden_error()` unless `allow_field(actor, action, resource, field)` holds."""
        if self._decision_log is not None:
            return self._decision_log.authorize_field(actor, action, resource, field)
        if not self._holds("allow_field", [actor, action, resource, field]):
            raise self.forbidden_error()

    def authorized_actions(self, actor: Any, resource: Any, allow_wildcard: bool = False) -> set:
        """Every action `actor` may perform on `resource`; `{"*"}` for an unconstrained one."""
        if self._decision_log is not None:
            return self._decision_log.authorized_actions(actor, resource, allow_wildcard)
        return self._collect("allow", [actor, Variable("action"), resource], "action", allow_wildcard,
                             "authorized_actions")

    # Policy-author tooling ----------------------------------------------------------------------

    def explain(self, actor: Any, action: Any, resource: Any) -> "Explanation":
        """Why `is_allowed(actor, action, resource)` is True or False (`str()` it for a report).

        Runs a separate, instrumented query; decisions are not affected. See docs/debugging.md.
        """
        from .tooling.explain import explain_rule
        return explain_rule(self, "allow", actor, action, resource)

    def set_decision_logger(self, logger: Optional[Callable[["Decision"], Any]], *,
                            raise_errors: bool = True) -> None:
        """Call `logger(decision)` for every decision of `is_allowed`, `authorize`,
        `authorize_request`, `authorize_field`, `authorized_actions` and `authorized_fields`
        (an `oso_core.tooling.decision_log.Decision`); None removes the logger.

        A logger that raises makes the decision raise (fail closed: an allow is never returned
        unlogged); with `raise_errors=False` its errors are logged to the `oso_core.decisions`
        logger instead and the decision is returned. See docs/debugging.md.
        """
        if logger is None:
            self._decision_log = None
            return
        from .tooling.decision_log import DecisionLog
        self._decision_log = DecisionLog(self, logger, raise_errors)

    def get_allowed_actions(self, actor: Any, resource: Any, allow_wildcard: bool = False) -> list:
        """Deprecated: `list(authorized_actions(...))`."""
        return list(self.authorized_actions(actor, resource, allow_wildcard))

    def authorized_fields(self, actor: Any, action: Any, resource: Any, allow_wildcard: bool = False) -> set:
        """Every field of `resource` the actor may perform `action` on (via `allow_field`)."""
        if self._decision_log is not None:
            return self._decision_log.authorized_fields(actor, action, resource, allow_wildcard)
        return self._collect("allow_field", [actor, action, resource, Variable("field")], "field",
                             allow_wildcard, "authorized_fields")

    def _collect(self, rule: str, args: list, var: str, allow_wildcard: bool, method: str,
                 results: Optional[Iterable[dict]] = None) -> set:
        found: set = set()
        for result in self.query_rule(rule, *args) if results is None else results:
            value = result["bindings"].get(var, Variable(var))
            if isinstance(value, Variable):
                if allow_wildcard:
                    return {"*"}
                raise OsoError(_WILDCARD_ERROR.format(method=method, what=var))
            found.add(value)
        return found

    # Async decisions (docs/async.md) -------------------------------------------------------------

    # Each runs its synchronous counterpart in an engine greenlet (runtime/async_bridge.py): a
    # host attribute, method result or iterator step that is awaitable is awaited in the event
    # loop where the policy reads it. Same arguments, results and errors as the sync methods.

    async def is_allowed_async(self, actor: Any, action: Any, resource: Any) -> bool:
        """`is_allowed`, awaiting awaitable host values (see docs/async.md)."""
        return await run_async(self.is_allowed, actor, action, resource)

    async def authorize_async(self, actor: Any, action: Any, resource: Any, *, check_read: bool = True) -> None:
        """`authorize`, awaiting awaitable host values."""
        await run_async(self.authorize, actor, action, resource, check_read=check_read)

    async def authorize_request_async(self, actor: Any, request: Any) -> None:
        """`authorize_request`, awaiting awaitable host values."""
        await run_async(self.authorize_request, actor, request)

    async def authorize_field_async(self, actor: Any, action: Any, resource: Any, field: Any) -> None:
        """`authorize_field`, awaiting awaitable host values."""
        await run_async(self.authorize_field, actor, action, resource, field)

    async def authorized_actions_async(self, actor: Any, resource: Any, allow_wildcard: bool = False) -> set:
        """`authorized_actions`, awaiting awaitable host values."""
        return await run_async(self.authorized_actions, actor, resource, allow_wildcard)

    async def authorized_fields_async(self, actor: Any, action: Any, resource: Any,
                                      allow_wildcard: bool = False) -> set:
        """`authorized_fields`, awaiting awaitable host values."""
        return await run_async(self.authorized_fields, actor, action, resource, allow_wildcard)

    async def authorized_query_async(self, actor: Any, action: Any, resource_cls: type) -> Any:
        """`authorized_query`: the filter is built awaiting awaitable host values (the actor's
        attributes); the query is returned, not run."""
        return await run_async(self.authorized_query, actor, action, resource_cls)

    async def authorized_resources_async(self, actor: Any, action: Any, resource_cls: type) -> list:
        """`authorized_resources`: the filter is built awaiting awaitable host values, then the
        adapter runs the query; an adapter whose `execute_query` returns an awaitable (e.g.
        `SqlAlchemyAdapter` over an `AsyncSession`) is awaited."""
        def authorized_resources() -> list:
            query = self.authorized_query(actor, action, resource_cls)
            return await_if_async(self.host.adapter.execute_query(query))
        return await run_async(authorized_resources)

    # Data filtering ------------------------------------------------------------------------------

    def set_data_filtering_adapter(self, adapter: Any) -> None:
        """Use `adapter` to build and run data-filtering queries."""
        self.host.set_adapter(adapter)

    def authorized_query(self, actor: Any, action: Any, resource_cls: type) -> Any:
        """A query of the adapter's store selecting the `resource_cls` rows the actor may `action`."""
        from .filtering import build_filter_plan
        from .filtering.legacy import data_filter_from_plan
        from .filtering.plan_cache import cached_filter_plan
        adapter = self._filtering_adapter("authorized_query", resource_cls)
        if os.environ.get("POLAR_EXPLAIN"):
            plan = build_filter_plan(self, actor, action, resource_cls)
        else:
            # A repeat for an actor of the same class binds its values into a template
            # (filtering/plan_cache.py; docs/data-filtering.md, "The plan cache").
            plan, query = cached_filter_plan(self, actor, action, resource_cls, adapter)
            if query is not None:
                return query
        if os.environ.get("POLAR_EXPLAIN"):
            print(plan.describe(), file=sys.stderr)
        if hasattr(adapter, "build_query_from_plan"):
            return adapter.build_query_from_plan(plan)
        return adapter.build_query(data_filter_from_plan(plan, self.host, adapter))

    def authorized_resources(self, actor: Any, action: Any, resource_cls: type) -> list:
        """The `resource_cls` objects the actor may `action`, fetched with one query."""
        query = self.authorized_query(actor, action, resource_cls)
        return self.host.adapter.execute_query(query)

    def new_authorized_query(self, actor: Any, action: Any, resource_cls: type) -> Any:
        """Legacy low-level name of `authorized_query`."""
        return self.authorized_query(actor, action, resource_cls)

    def _filtering_adapter(self, method: str, resource_cls: type) -> Any:
        adapter = self.host.adapter
        legacy = self.host.legacy_query_functions
        if adapter is None:
            if legacy:
                raise OsoError(_LEGACY_FUNCTIONS_ERROR.format(method=method))
            raise OsoError(f"{method}() needs a data-filtering adapter, and none is set. Call "
                           f"oso.set_data_filtering_adapter(adapter) first, e.g. with "
                           f"oso_core.data.adapter.sqlalchemy_adapter.SqlAlchemyAdapter(session) or "
                           f"oso_core.data.adapter.django_adapter.DjangoAdapter().")
        if legacy:
            warnings.warn("build_query, exec_query and combine_query passed to register_class are "
                          "ignored: the data-filtering adapter set with set_data_filtering_adapter() "
                          "builds and runs the queries. Remove them from register_class.",
                          DeprecationWarning, stacklevel=3)
        return adapter
