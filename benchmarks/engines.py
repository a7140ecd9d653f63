"""The implementations that answer a scenario's requests.

* ``oso_core`` -- this project's engine (``from oso_core import Oso``);
* ``legacy``   -- legacy oso 0.27.3 (``from oso import Oso``), when installed;
* ``cedarpy``  -- the scenario written in Cedar, decided by cedarpy (``peer_cedar``), when installed;
* ``casbin``   -- the scenario written as a casbin model, decided by pycasbin (``peer_casbin``);
* ``floor``    -- the same check written by hand in plain Python (``Request.floor``).

The two peers do not read the host objects at decision time: ``build`` translates a scenario's
objects into their data once, and the peer's ``decider`` hands back the prepared request.

``decider(engine, built, request)`` returns ``(fn, args)``; calling ``fn(*args)`` answers the
request. The timing loop calls exactly that, so every engine pays the same call overhead.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

from . import peer_casbin, peer_cedar

ENGINES = ("oso_core", "legacy", "cedarpy", "casbin", "floor")
MODULES = {"oso_core": "oso_core", "legacy": "oso"}
PEERS = {"cedarpy": peer_cedar, "casbin": peer_casbin}
LABELS = {"oso_core": "oso_core", "legacy": "legacy oso 0.27.3", "cedarpy": "cedarpy", "casbin": "casbin",
          "floor": "floor (plain Python)"}


def oso_class(engine: str):
    """The engine's ``Oso`` class (ImportError if it cannot be imported)."""
    return importlib.import_module(MODULES[engine]).Oso


def availability(engine: str) -> Optional[str]:
    """None if the engine can load a trivial policy, else the reason it cannot."""
    if engine == "floor":
        return None
    try:
        if engine in PEERS:
            PEERS[engine].availability()
            return None
        oso = oso_class(engine)()
        oso.load_str("allow(_, _, _);")
        if oso.is_allowed(1, 2, 3) is not True:
            return "a trivial policy did not allow"
    except Exception as error:  # noqa: BLE001 -- any failure means the column is skipped
        return f"{type(error).__name__}: {error}"
    return None


def new_oso(engine: str, classes: list) -> Any:
    oso = oso_class(engine)()
    for name, cls in classes:
        oso.register_class(cls, name=name)
    return oso


def build(engine: str, scenario) -> Any:
    """An engine instance with the scenario's classes registered and its policy loaded."""
    if engine == "floor":
        return None
    if engine in PEERS:
        return PEERS[engine].build(scenario)
    oso = new_oso(engine, scenario.classes)
    oso.load_str(scenario.policy)
    return oso


def decider(engine: str, built: Any, request) -> tuple:
    if engine == "floor":
        return request.floor, request.args
    if engine in PEERS:
        return built.decider(request)
    return getattr(built, request.kind), request.args


def answer(engine: str, built: Any, request) -> Any:
    fn, args = decider(engine, built, request)
    result = fn(*args)
    if request.kind == "authorized_actions":
        result = set(result)
    return result
