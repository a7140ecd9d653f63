"""The GitHub-like domain shared by the example apps (example_apps/github_flask, github_fastapi,
github_django): users, organizations, repositories and issues, with roles on organizations
(member, owner) and repositories (reader, maintainer, admin).

* `policy.polar` (`POLICY`): the one policy of the three apps.
* `data.py`: the demo rows, as plain Python (each app seeds them).
* `models.py` and `seed.py`: those rows as SQLAlchemy tables and objects, for the Flask and FastAPI
  apps (the Django project has Django models of its own).
* `demo.py`: what the Flask and FastAPI apps print and list (their banner, their endpoints).

This package imports no framework: `models.py` and `seed.py` import SQLAlchemy when imported.
"""

from __future__ import annotations

from pathlib import Path

# Read from the source checkout (example_apps is not an installed package): found next to this file.
POLICY = Path(__file__).with_name("policy.polar")

__all__ = ["POLICY"]
