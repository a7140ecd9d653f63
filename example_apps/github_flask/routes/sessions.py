"""Logging in and out. A demo: users log in by name, without a password."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request, session
from sqlalchemy import select

from flask_oso import skip_authorization

from ..authorization import current_user, public
from ..models import User, db

bp = Blueprint("sessions", __name__)

ENDPOINTS = [
    'POST /login {"username": ...}', "POST /logout", "GET /whoami",
    "GET /orgs", "GET /orgs/<id>", "GET /orgs/<id>/repos",
    "GET /repos", 'POST /repos {"org_id", "name", "is_public"}', "GET /repos/<id>", "DELETE /repos/<id>",
    "GET /repos/<id>/issues", 'POST /repos/<id>/issues {"title"}',
    "GET /repos/<id>/roles", 'POST /repos/<id>/roles {"username", "role"}', "DELETE /repos/<id>/roles/<username>",
    "GET /issues?state=all|open|closed", "GET /issues/<id>", "POST /issues/<id>/close",
]


@bp.get("/")
@public
@skip_authorization
def index():
    return jsonify(app="GitHub-like example of oso_core, flask_oso and sqlalchemy_oso", endpoints=ENDPOINTS)


@bp.post("/login")
@public
@skip_authorization
def login():
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    user = db.session.scalar(select(User).where(User.username == username)) if isinstance(username, str) else None
    if user is None:
        abort(401, description=f"unknown user {username!r}")
    session.clear()
    session["user_id"] = user.id
    return jsonify(user=user.to_json())


@bp.post("/logout")
@public
@skip_authorization
def logout():
    session.clear()
    return jsonify(user=None)


@bp.get("/whoami")
@public
@skip_authorization
def whoami():
    user = current_user()
    return jsonify(user=user.to_json() if user else None)
