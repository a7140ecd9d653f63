"""`python -m oso_server ...`: see `oso_server.cli`."""

import sys

from .cli import main

sys.exit(main())
