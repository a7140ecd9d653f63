"""`python -m oso_core [files...]`: the interactive REPL over the given policy files."""

import sys

from .oso import Oso


def main(argv: list) -> None:
    Oso().repl(files=argv)


if __name__ == "__main__":
    main(sys.argv[1:])
