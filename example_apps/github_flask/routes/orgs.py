"""Organizations. `GET /orgs` uses `Oso.authorized_resources`: the policy as one SQL query."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..authorization import authorized, authorized_query, authorized_resources
from ..models import Org, Repo

bp = Blueprint("orgs", __name__)


@bp.get("/orgs")
def list_orgs():
    orgs = authorized_resources("read", Org)
    return jsonify([org.to_json() for org in sorted(orgs, key=lambda o: o.id)])


@bp.get("/orgs/<int:org_id>")
def get_org(org_id: int):
    return jsonify(authorized("read", Org, org_id).to_json())


@bp.get("/orgs/<int:org_id>/repos")
def list_org_repos(org_id: int):
    # The org's repos the user may read: all of them for members, only the public ones for
    # everybody else (as on GitHub). An org without any such repo gives an empty list.
    repos = authorized_query("read", Repo).filter(Repo.org_id == org_id).order_by(Repo.id)
    return jsonify([repo.to_json() for repo in repos])
