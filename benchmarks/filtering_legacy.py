"""The legacy side of the data-filtering benchmark, run by :mod:`benchmarks.filtering` in an
interpreter where legacy oso 0.27.3 is installed (``oso`` is not a dependency of this project).

    python -m benchmarks.filtering_legacy '<json job>'

The job names the database (already created and loaded by the parent), the cases and the
timing settings. Legacy oso does not discover relations from the ORM: every class is
registered with its ``fields``, the relations as ``polar.data_filtering.Relation``. For every
case this prints (as one JSON object on the last line of stdout) the median filter build time
of ``authorized_query``, the median time of ``query.all()``, the number of SQL statements, the
ids found against the hand-written SQL's, the generated SQL, or the error legacy raised.
"""

from __future__ import annotations

import json
import statistics
import sys
import traceback
from time import perf_counter_ns


def _registrations(fd, Relation) -> list:
    return [
        (fd.User, {"id": int}),
        (fd.Org, {"id": int, "name": str,
                  "org_roles": Relation("many", "OrgRole", "id", "org_id")}),
        (fd.Repo, {"id": int, "name": str, "org_id": int, "parent_id": int, "owner_id": int,
                   "is_public": bool, "is_archived": bool,
                   "org": Relation("one", "Org", "org_id", "id"),
                   "parent": Relation("one", "Repo", "parent_id", "id"),
                   "issues": Relation("many", "Issue", "id", "repo_id"),
                   "repo_roles": Relation("many", "RepoRole", "id", "repo_id")}),
        (fd.Issue, {"id": int, "repo_id": int, "creator_id": int, "title": str, "closed": bool,
                    "repo": Relation("one", "Repo", "repo_id", "id")}),
        (fd.OrgRole, {"id": int, "user_id": int, "org_id": int, "name": str,
                      "org": Relation("one", "Org", "org_id", "id")}),
        (fd.RepoRole, {"id": int, "user_id": int, "repo_id": int, "name": str,
                       "repo": Relation("one", "Repo", "repo_id", "id")}),
    ]


def _driver_url(url: str) -> tuple:
    """The PostgreSQL URL with a driver this interpreter has (psycopg 3 preferred)."""
    if not url.startswith("postgresql"):
        return url, "sqlite3"
    rest = url.split("://", 1)[1]
    try:
        import psycopg  # noqa: F401
        return "postgresql+psycopg://" + rest, "psycopg " + psycopg.__version__
    except ImportError:
        import psycopg2
        return "postgresql+psycopg2://" + rest, "psycopg2 " + psycopg2.__version__.split()[0]


def _median_ns(fn, min_runs: int, budget_ns: int, max_runs: int, setup=None) -> float:
    samples = []
    start = perf_counter_ns()
    while len(samples) < max_runs:
        if setup is not None:
            setup()
        t0 = perf_counter_ns()
        fn()
        samples.append(perf_counter_ns() - t0)
        if len(samples) >= min_runs and perf_counter_ns() - start >= budget_ns:
            break
    return statistics.median(samples)


def run(job: dict) -> dict:
    from importlib.metadata import version

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from benchmarks import filtering_data as fd
    from oso import Oso
    from polar.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter
    from polar.data_filtering import Relation

    db = fd.Database(**job["database"])
    url, driver = _driver_url(db.url)
    out: dict = {"version": version("oso"), "driver": driver, "cases": {}}
    engine = db.engine(url)
    statements: list = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    settings = job["settings"]
    try:
        with Session(engine) as session:
            oso = Oso()
            oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
            for cls, fields in _registrations(fd, Relation):
                oso.register_class(cls, fields=fields)
            oso.load_str(fd.github_policy())
            user = fd.User(fd.BENCH_USER_ID)
            for action, type_name in job["cases"]:
                model = fd.MODELS[type_name]
                result: dict = {}
                out["cases"][f"{action} {type_name}"] = result
                try:
                    query = oso.authorized_query(user, action, model)
                    result["sql"] = str(query.statement.compile(
                        engine, compile_kwargs={"literal_binds": True}))
                    result["build_ns"] = _median_ns(
                        lambda: oso.authorized_query(user, action, model),
                        settings["build_min_runs"], settings["build_budget_ns"],
                        settings["build_max_runs"])
                except Exception as error:  # noqa: BLE001 -- reported, not fatal
                    result["error"] = f"authorized_query: {type(error).__name__}: {error}".strip()
                    result["traceback"] = traceback.format_exc()
                    continue
                try:
                    statements.clear()
                    query = oso.authorized_query(user, action, model)
                    ids = sorted(row.id for row in query.all())
                    result["statements"] = len(statements)
                    with engine.connect() as conn:
                        hand = fd.hand_ids(conn, action, type_name)
                    result["ids"] = len(ids)
                    result["hand_ids"] = len(hand)
                    result["same_ids"] = ids == hand
                    result["missing"] = len(set(hand) - set(ids))
                    result["extra"] = len(set(ids) - set(hand))
                    result["all_ns"] = _median_ns(
                        query.all, settings["query_min_runs"], settings["query_budget_ns"],
                        settings["query_max_runs"], setup=session.expunge_all)
                except Exception as error:  # noqa: BLE001 -- reported, not fatal
                    result["error"] = f"query.all(): {type(error).__name__}: {error}".strip()
                    result["traceback"] = traceback.format_exc()
                    session.rollback()
    finally:
        engine.dispose()
    return out


def main(argv: list) -> int:
    job = json.loads(argv[0])
    print(json.dumps(run(job)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
