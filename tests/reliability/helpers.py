"""Shared tools of the reliability suite: stage subprocesses, kills at chosen moments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_stage(module: str, *overrides: str, nproc: int = 1) -> subprocess.Popen:
    """``python -m reslstm.cli.<module> overrides…`` from the repo root, output captured;
    under ``torchrun`` with ``nproc`` processes when ``nproc`` > 1."""
    launcher = [sys.executable]
    if nproc > 1:
        launcher = [
            str(Path(sys.executable).parent / "torchrun"),
            "--standalone",
            f"--nproc-per-node={nproc}",
        ]
    return subprocess.Popen(
        [*launcher, "-m", f"reslstm.cli.{module}", "progress_bar=false", *overrides],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def run_stage(module: str, *overrides: str, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = start_stage(module, *overrides)
    out, _ = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


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


def run_sh(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ROOT / "run.sh"), *args, "progress_bar=false"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_lines(out: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("error:")]
