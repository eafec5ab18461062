"""The process-wide governance registry never deadlocks on a client finalized mid-acquire.

An unclosed client releases its governance from a `weakref.finalize` callback, which the
garbage collector may run at any allocation, including inside `acquire_shared` while it
holds the registry's lock. The scenario runs in a child process so that a deadlock fails
the test (by its timeout) without leaving the lock held in the test process.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from esploro_async.governance.core import Governance
from esploro_async.governance.registry import acquire_shared, release_shared

first, dying = acquire_shared("institution-a", "settings", Governance.local)

def factory():
    release_shared(dying)  # what the finalizer of an unclosed client does if GC runs here
    return Governance.local()

governance, key = acquire_shared("institution-b", "settings", factory)
again, _ = acquire_shared("institution-a", "settings", Governance.local)
print("fresh" if again is not first else "kept")  # the release was applied
"""


def test_a_release_inside_an_acquire_does_not_deadlock() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fresh"
