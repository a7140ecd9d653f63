"""fastapi_oso: FastAPI integration for oso_core, on the engine's async API.

See docs/fastapi.md.
"""

from .integration import FastAPIOso

__all__ = ["FastAPIOso"]
