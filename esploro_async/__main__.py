"""``python -m esploro_async``: the command line."""

from esploro_async.cli import main

main()
