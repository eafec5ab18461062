"""The helpers that start, wait for and end the child processes of tests and benchmarks."""

from __future__ import annotations

import multiprocessing
import signal
import socket
import subprocess
import sys
import time

from esploro_async.testing.children import end_child, free_loopback_port, wait_for_port

IGNORE_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)"  # noqa: E501


def _ignore_sigterm_forever() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)


def test_wait_for_port_sees_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert wait_for_port(listener.getsockname()[1], timeout=5.0)


def test_wait_for_port_gives_up_when_the_child_is_gone() -> None:
    calls = []

    def alive() -> bool:
        calls.append(1)
        return False

    assert not wait_for_port(free_loopback_port(), timeout=60.0, alive=alive)
    assert calls == [1]


def test_end_child_reaps_a_child_that_already_exited() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    end_child(proc)
    assert proc.returncode == 0


def test_end_child_terminates_a_subprocess() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    end_child(proc, terminate_grace=30.0)
    assert proc.returncode == -signal.SIGTERM


def test_end_child_kills_a_subprocess_that_ignores_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-c", IGNORE_SIGTERM], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline()  # the handler is installed
    end_child(proc, terminate_grace=0.1)
    assert proc.returncode == -signal.SIGKILL


def test_end_child_kills_a_multiprocessing_child_that_ignores_sigterm() -> None:
    process = multiprocessing.get_context("fork").Process(target=_ignore_sigterm_forever)
    process.start()
    end_child(process, terminate_grace=0.1)
    assert not process.is_alive()
    assert process.exitcode in (-signal.SIGTERM, -signal.SIGKILL)
