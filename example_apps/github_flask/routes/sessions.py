"""Logging in and out. A demo: users log in by name, without a password."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request, session
from sqlalchemy import select

from example_apps.github_domain.demo import ENDPOINTS
from flask_oso import skip_authorization

from ..authorization import current_user, public
from ..models import User, db

bp = Blueprint("sessions", __name__)


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
