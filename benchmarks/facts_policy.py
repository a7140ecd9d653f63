"""The fact-store benchmark's policy and the same decisions written by hand in SQL.

The policy is GitHub-like: Org roles member/admin ("member" if "admin"), Repo roles
reader/maintainer/admin (each implying the next lower one), a Repo's "parent" Org granting
"reader" to its members and "admin" to its admins, permissions read/push/delete on Repo and
read on Org. Legacy resource blocks need registered host classes, so the policy spells the
blocks out as the rules they stand for, over `declare`d fact predicates (docs/facts.md): it
loads on main today.

The hand SQL answers `authorize(user, "read", repo)` and `list(user, "read", "Repo")` in ONE
statement each, over the same tables (oso_core/facts/schema.py), every value a bind parameter:
value ids are computed in Python (`schema.arg_id`), as the engine does.
"""

from __future__ import annotations

from sqlalchemy import text

from oso_core.facts import schema
from oso_core.values import Value

from .facts_dataset import ENVIRONMENT

POLICY = """\
declare has_role(User, String, Org);
declare has_role(User, String, Repo);
declare has_relation(Repo, String, Org);

# resource Org { roles = ["member", "admin"]; permissions = ["read"];
#                "read" if "member"; "member" if "admin"; }
org_role(u: User, "admin", o: Org) if has_role(u, "admin", o);
org_role(u: User, "member", o: Org) if has_role(u, "member", o);
org_role(u: User, "member", o: Org) if org_role(u, "admin", o);

# resource Repo { roles = ["reader", "maintainer", "admin"];
#                 permissions = ["read", "push", "delete"]; relations = { parent: Org };
#                 "read" if "reader"; "push" if "maintainer"; "delete" if "admin";
#                 "maintainer" if "admin"; "reader" if "maintainer";
#                 "reader" if "member" on "parent"; "admin" if "admin" on "parent"; }
repo_role(u: User, "admin", r: Repo) if has_role(u, "admin", r);
repo_role(u: User, "admin", r: Repo) if has_relation(r, "parent", o) and org_role(u, "admin", o);
repo_role(u: User, "maintainer", r: Repo) if has_role(u, "maintainer", r);
repo_role(u: User, "maintainer", r: Repo) if repo_role(u, "admin", r);
repo_role(u: User, "reader", r: Repo) if has_role(u, "reader", r);
repo_role(u: User, "reader", r: Repo) if repo_role(u, "maintainer", r);
repo_role(u: User, "reader", r: Repo) if has_relation(r, "parent", o) and org_role(u, "member", o);

allow(u: User, "read", r: Repo) if repo_role(u, "reader", r);
allow(u: User, "push", r: Repo) if repo_role(u, "maintainer", r);
allow(u: User, "delete", r: Repo) if repo_role(u, "admin", r);
allow(u: User, "read", o: Org) if org_role(u, "member", o);
"""

# "read" on a repo: any repo role on it (reader < maintainer < admin), or any org role
# (member < admin) on its parent org.
HAND_AUTHORIZE_READ = text("""
SELECT CASE WHEN EXISTS (
    SELECT 1 FROM oso_facts
    WHERE env = :env AND predicate = 'has_role' AND arity = 3
      AND a0 = :user AND a1 IN (:reader, :maintainer, :admin) AND a2 = :repo
      AND a3 = 0 AND a4 = 0
) OR EXISTS (
    SELECT 1 FROM oso_facts rel
    JOIN oso_facts r ON r.env = rel.env AND r.predicate = 'has_role' AND r.arity = 3
                    AND r.a0 = :user AND r.a1 IN (:member, :admin) AND r.a2 = rel.a2
                    AND r.a3 = 0 AND r.a4 = 0
    WHERE rel.env = :env AND rel.predicate = 'has_relation' AND rel.arity = 3
      AND rel.a0 = :repo AND rel.a1 = :parent AND rel.a3 = 0 AND rel.a4 = 0
) THEN 1 ELSE 0 END
""")

# The repos the user may read: by a repo role, or by an org role on the repo's parent org.
HAND_LIST_READ = text("""
SELECT v.id FROM oso_values v
WHERE v.type = 'Repo' AND v.vid IN (
    SELECT a2 FROM oso_facts
    WHERE env = :env AND predicate = 'has_role' AND arity = 3
      AND a0 = :user AND a1 IN (:reader, :maintainer, :admin) AND a3 = 0 AND a4 = 0
    UNION
    SELECT rel.a0 FROM oso_facts r
    JOIN oso_facts rel ON rel.env = r.env AND rel.predicate = 'has_relation' AND rel.arity = 3
                      AND rel.a1 = :parent AND rel.a2 = r.a2 AND rel.a3 = 0 AND rel.a4 = 0
    WHERE r.env = :env AND r.predicate = 'has_role' AND r.arity = 3
      AND r.a0 = :user AND r.a1 IN (:member, :admin) AND r.a3 = 0 AND r.a4 = 0
)
""")

_CONSTANTS = {name: schema.arg_id(name) for name in ("reader", "maintainer", "admin", "member", "parent")}


def authorize_params(actor: Value, resource: Value, environment: str = ENVIRONMENT) -> dict:
    """Bind parameters of `HAND_AUTHORIZE_READ` (built outside any timed loop)."""
    return {"env": environment, "user": schema.arg_id(actor), "repo": schema.arg_id(resource), **_CONSTANTS}


def list_params(actor: Value, environment: str = ENVIRONMENT) -> dict:
    """Bind parameters of `HAND_LIST_READ`."""
    return {"env": environment, "user": schema.arg_id(actor), **_CONSTANTS}


def hand_authorize(conn, params: dict) -> bool:
    """One hand-SQL authorize on an open SQLAlchemy connection."""
    return conn.execute(HAND_AUTHORIZE_READ, params).scalar() == 1


def hand_list(conn, params: dict) -> list:
    """One hand-SQL list on an open SQLAlchemy connection (ids, sorted in Python)."""
    return sorted(conn.execute(HAND_LIST_READ, params).scalars())
