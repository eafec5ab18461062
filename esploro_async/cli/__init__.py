"""The ``esploro-async`` command line: harvests, bulk updates, quota, the simulator.

Needs the ``cli`` extra (click and rich): ``pip install 'esploro-async[cli]'``.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``esploro-async`` console script."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        print(
            "esploro-async: the command line needs click and rich: "
            "pip install 'esploro-async[cli]'",
            file=sys.stderr,
        )
        sys.exit(2)
    from esploro_async.cli.app import run

    sys.exit(run())
