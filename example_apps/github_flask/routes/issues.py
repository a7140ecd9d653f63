"""Issues. `GET /issues` reads through an authorized session (sqlalchemy_oso): the query is
plain SQLAlchemy, and the session adds the policy's filter to it."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select

from ..authorization import authorized, authorized_session
from ..models import Issue, db

bp = Blueprint("issues", __name__)

STATES = {"all": None, "open": False, "closed": True}


@bp.get("/issues")
def list_issues():
    """Every issue the user may read; `?state=open` or `?state=closed` narrows it."""
    state = request.args.get("state", "all")
    if state not in STATES:
        abort(400, description="state must be all, open or closed")
    stmt = select(Issue).order_by(Issue.id)
    if STATES[state] is not None:
        stmt = stmt.where(Issue.closed == STATES[state])
    with authorized_session() as s:
        return jsonify([issue.to_json() for issue in s.scalars(stmt)])


@bp.get("/issues/<int:issue_id>")
def get_issue(issue_id: int):
    return jsonify(authorized("read", Issue, issue_id).to_json())


@bp.post("/issues/<int:issue_id>/close")
def close_issue(issue_id: int):
    """Maintainers of the repo and the issue's creator may close it (closing twice is fine)."""
    issue = authorized("close", Issue, issue_id)
    issue.closed = True
    db.session.commit()
    return jsonify(issue.to_json())
