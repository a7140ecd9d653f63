"""What the Flask and FastAPI apps show of themselves: the start-up banner and the endpoint list."""

from __future__ import annotations

from .data import ACCESS

ENDPOINTS = [
    'POST /login {"username": ...}', "POST /logout", "GET /whoami",
    "GET /orgs", "GET /orgs/<id>", "GET /orgs/<id>/repos",
    "GET /repos", 'POST /repos {"org_id", "name", "is_public"}', "GET /repos/<id>", "DELETE /repos/<id>",
    "GET /repos/<id>/issues", 'POST /repos/<id>/issues {"title"}',
    "GET /repos/<id>/roles", 'POST /repos/<id>/roles {"username", "role"}', "DELETE /repos/<id>/roles/<username>",
    "GET /issues?state=all|open|closed", "GET /issues/<id>", "POST /issues/<id>/close",
]


def user_lines(access: dict[str, str] = ACCESS) -> str:
    """One line per demo user: name and what they may do."""
    return "\n".join(f"  {name:<6} {what}" for name, what in access.items())


def banner(*, title: str, database: str, seeded: bool, base: str, jar: str, try_note: str = "") -> str:
    """The text an app prints when it starts: the database, the users, curl commands to try."""
    return f"""\
GitHub-like example app: {title}
Database: {database} ({'seeded just now' if seeded else 'already seeded'})

Users (log in by name, no password):
{user_lines()}

Try{try_note}:
  curl -c {jar} -H 'Content-Type: application/json' -d '{{"username": "bob"}}' {base}/login
  curl -b {jar} {base}/repos
  curl -b {jar} {base}/issues
  curl -b {jar} -X POST {base}/issues/1/close          # 403: bob only reads anvil
  curl -b {jar} -X POST {base}/issues/5/close          # 200: bob maintains tnt
  curl -b {jar} {base}/repos/4                         # 404: hammock is globex's
"""
