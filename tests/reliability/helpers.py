"""Tools of the reliability suite: kills at chosen moments, surviving processes, error lines
(the stage subprocesses themselves come from :mod:`tests.helpers`)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def kill_when(
    proc: subprocess.Popen, condition: Callable[[], bool], timeout: float = 120
) -> list[int] | None:
    """SIGKILL ``proc`` as soon as ``condition()`` holds (polled every millisecond).

    Returns the pids of the descendants ``proc`` had at that moment (its worker processes), or
    None if it ended on its own first (nothing was interrupted).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            workers = descendants(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return workers
        time.sleep(0.001)
    proc.communicate()
    return None


def descendants(pid: int) -> list[int]:
    """Pids of all live descendants of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pids: list[int], settle_s: float = 2.0) -> list[int]:
    """The pids of ``pids`` still running after ``settle_s`` seconds (zombies count as dead)."""
    time.sleep(settle_s)
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.append(pid)
    return running


def error_lines(out: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("error:")]
