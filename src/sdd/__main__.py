"""Entry point for ``python -m sdd``."""

from sdd.cli import main

main()
