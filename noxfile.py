"""The supported version matrix (README "Supported versions"), run by .ci/run: `nox`.

Each session installs the project with its `dev` extra into a fresh virtualenv, pins the framework
versions of its row, and runs the whole test suite (PostgreSQL included under CI=true). The rows
cover every supported Python, Django, SQLAlchemy and Flask version at least once, lowest and
newest, without the full product. `nox -l` lists them; `nox -s "tests(lowest)"` runs one.
"""

from __future__ import annotations

import glob
import os
import re

import nox

# A missing interpreter fails the run under CI (a skipped row would pass untested); a developer
# without one of the interpreters can still run the others.
nox.options.error_on_missing_interpreters = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The interpreters are the machine's (pyenv's); nox never fetches one.
nox.options.download_python = "never"
nox.options.sessions = ["tests"]

# (id, python, django, sqlalchemy, flask): pip version specifiers of each row.
MATRIX = [
    ("lowest", "3.10", "django==5.2.*", "sqlalchemy==2.0.*", "flask==3.0.*"),
    ("py3.12-newest", "3.12", "django==6.*", "sqlalchemy==2.1.*", "flask==3.1.*"),
    ("py3.13-newest", "3.13", "django==6.*", "sqlalchemy==2.1.*", "flask==3.1.*"),
    ("py3.13-lowest-libs", "3.13", "django==5.2.*", "sqlalchemy==2.0.*", "flask==3.0.*"),
]

PACKAGES = ("django", "sqlalchemy", "flask")


def interpreter(version: str) -> str:
    """The newest pyenv-installed CPython `version` as a full path, else `version` for nox to find
    on PATH. pyenv's shims are on PATH but run only the globally selected version, so the
    interpreters are looked up where pyenv installs them."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")
    candidates = [path for path in glob.glob(pattern) if re.fullmatch(r"\d+\.\d+\.\d+", _release(path))]
    if not candidates:
        return version
    return max(candidates, key=lambda path: tuple(int(part) for part in _release(path).split(".")))


def _release(path: str) -> str:
    """`3.12.1` for `.../versions/3.12.1/bin/python3.12`."""
    return os.path.basename(os.path.dirname(os.path.dirname(path)))


@nox.session
@nox.parametrize(
    "python,django,sqlalchemy,flask",
    [(interpreter(python), django, sqlalchemy, flask) for _, python, django, sqlalchemy, flask in MATRIX],
    ids=[row[0] for row in MATRIX],
)
def tests(session: nox.Session, django: str, sqlalchemy: str, flask: str) -> None:
    """The whole test suite with this row's versions."""
    session.install("-e", ".[dev]", django, sqlalchemy, flask)
    # Print what was installed, so a run's log shows the versions it tested.
    session.run("python", "-c", "import sys, importlib.metadata as m; "
                f"print(sys.version.split()[0], {{n: m.version(n) for n in {PACKAGES!r}}})")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)
