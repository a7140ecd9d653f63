"""`python -m oso_core fmt`: lay policies out in one canonical way, comments kept.

`format_source(text)` is the formatter (used by the language server too), `main(argv)` the
command line.
"""

from .cli import main
from .formatter import FormatError, format_source

__all__ = ["FormatError", "format_source", "main"]
