"""flask_oso: Flask 3 integration for oso_core (drop-in for legacy flask-oso 0.27).

See docs/flask-oso.md.
"""

from .decorators import authorize, skip_authorization
from .flask_oso import FlaskOso

__all__ = ["FlaskOso", "authorize", "skip_authorization"]
