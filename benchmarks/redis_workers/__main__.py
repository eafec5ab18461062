"""``python -m benchmarks.redis_workers``: see the package's docstring."""

import os
import sys

from benchmarks.redis_workers.cli import main

if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
