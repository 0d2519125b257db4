"""The ``truthound-streaming`` console script: the project's command line (``info``, ``schema``,
``snapshot``, ``check``), as the Rust binary ``truthound`` runs it."""

from __future__ import annotations

import sys

from . import _native


def main() -> None:
    """Runs the command line with this process's arguments and exits with its code."""
    sys.exit(_native.run_cli(["truthound-streaming", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
