"""Settings of the example project (a SQLite file, by default in the temporary directory)."""

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("GITHUB_DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("GITHUB_DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_oso",
    "example_apps.github_django.github",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    # Demo only: the user named by the X-User header (a real project: sessions + Django's
    # AuthenticationMiddleware; django_oso only reads request.user).
    "example_apps.github_django.github.middleware.DemoUserMiddleware",
    # Every view must authorize (or skip authorization explicitly): a view that forgot answers
    # 500 instead of its content.
    "django_oso.middleware.RequireAuthorization",
]

ROOT_URLCONF = "example_apps.github_django.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("GITHUB_DJANGO_DB",
                               os.path.join(tempfile.gettempdir(), "github_django.sqlite3")),
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "django_oso.backends.OsoBackend",
]

USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
