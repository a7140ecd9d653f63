"""GitHub-like example project for django_oso: users, organizations, repositories and issues,
with roles on organizations (member, owner) and repositories (reader, maintainer, admin).

Run it with `python example_apps/github_django/manage.py demo` or
`python -m example_apps.github_django` (migrates, seeds and serves on http://127.0.0.1:8000).
"""
