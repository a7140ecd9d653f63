"""django_oso: oso_core authorization for Django 5.2 and 6 (drop-in for legacy django-oso 0.27).

Add `"django_oso"` to INSTALLED_APPS. `django_oso.Oso` is the project's single `oso_core.Oso`
instance: every model is registered as `app_label::Model`, and the `*.polar` files of every app's
`policy/` folder are loaded at start-up. See docs/django-oso.md.
"""

from .oso import Oso

__version__ = "0.27.3"

__all__ = ["Oso"]
