"""Policy metadata in Oso Cloud's `get_policy_metadata` form (oso-cloud spec section 3.7)."""

from __future__ import annotations

GLOBAL = "global"


def policy_metadata(blocks: dict) -> dict:
    """`{"resources": {type: {"roles", "permissions", "relations"}}}` from
    `Polar.resource_blocks()`: one entry per actor/resource block type plus "global", roles and
    permissions sorted, relations name -> type."""
    resources: dict[str, dict] = {}
    for name, block in blocks["blocks"].items():
        resources[name] = {"roles": sorted(block["roles"]), "permissions": sorted(block["permissions"]),
                           "relations": dict(sorted(block["relations"].items()))}
    resources.setdefault(GLOBAL, {"roles": [], "permissions": [], "relations": {}})
    return {"resources": resources}
