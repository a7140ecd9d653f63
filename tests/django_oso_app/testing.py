"""Helpers of the django_oso tests."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from django_oso.oso import Oso, policy_files, reset_oso


@contextlib.contextmanager
def extra_policy(text: str):
    """The apps' policy files plus `text` (as one more file) loaded while inside."""
    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(tmp) / "extra.polar"
        extra.write_text(text)
        Oso.reload_files([*policy_files(), str(extra)])
        try:
            yield
        finally:
            reset_oso()
