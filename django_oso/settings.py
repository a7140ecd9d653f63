"""django_oso's settings (read from the project's settings)."""

from django.conf import settings

# Watch the apps' policy folders with the development server's autoreloader (default True).
OSO_RELOAD_SERVER = getattr(settings, "OSO_RELOAD_SERVER", True)
