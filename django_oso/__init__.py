"""django_oso: framework integration (see its issue); importable so the project layout is complete."""
