"""The project's single `oso_core.Oso` instance (`django_oso.Oso`).

Its own module so that the filtering module, which defaults to it, and `django_oso.oso`, which
sets it up from the installed apps and uses the filtering adapter, do not import each other.
"""

from __future__ import annotations

from oso_core import Oso as _Oso

Oso = _Oso()
"""The project's single `oso_core.Oso` instance: load policies and register classes with it."""
