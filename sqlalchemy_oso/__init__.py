"""sqlalchemy_oso: oso authorization for SQLAlchemy 2.x (successor of legacy sqlalchemy-oso).

Drop-in for legacy sqlalchemy-oso 0.27: only `from oso import ...` changes to
`from oso_core import ...`. See docs/sqlalchemy-oso.md.
"""

__version__ = "0.27.2"

from .auth import register_models
from .oso import SQLAlchemyOso
from .session import authorized_sessionmaker

__all__ = ["SQLAlchemyOso", "authorized_sessionmaker", "register_models"]
