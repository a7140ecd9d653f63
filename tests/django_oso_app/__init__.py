"""Test app of the django_oso tests (models, views, admin and a `policy/` folder)."""
