"""One writer per directory: a stage holds a lock on each directory it writes while it runs.

The lock of ``<parent>/<name>`` is the file ``<parent>/.<name>.lock`` (beside the directory, so
that a stage that replaces its directory as a whole, or writes none on bad input, still has
it), held with ``flock``: the kernel releases it when its process ends, however it ends. The
holder writes its pid, host, program and start time into the file, so that a second stage
refuses with one line naming it; a lock file left by a killed process is simply taken over
(no process holds it any more), and a stage that ends removes its lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from reslstm.errors import ReslstmError


def lock_file(directory: Path) -> Path:
    """The lock file of ``directory``."""
    return directory.parent / f".{directory.name}.lock"


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says (empty for a moment while a holder writes it)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode())
        return (
            f"process {info['pid']} on {info['host']} ({info['program']}, started {info['since']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _lock(directory: Path, program: str) -> int:
    """Take the lock of ``directory``: the file descriptor that holds it."""
    path = lock_file(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ReslstmError(
                f"{directory} is being written by {holder}: wait for it to end or stop it "
                f"(lock {path})"
            ) from None
        try:  # the file locked is still the one at ``path`` (not removed by its last holder)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "program": program,
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    return fd


@contextlib.contextmanager
def sole_writer(directories: list[Path], program: str) -> Iterator[None]:
    """Hold the locks of ``directories`` (one after the other) while the block runs; raise
    :class:`ReslstmError` naming the holder if another live process holds one of them.
    ``program``: what this process is, for the message another one prints."""
    with contextlib.ExitStack() as held:
        for directory in directories:
            fd = _lock(Path(directory), program)
            held.callback(_unlock, lock_file(Path(directory)), fd)
        yield


def _unlock(path: Path, fd: int) -> None:
    """Remove the lock file, then release it: a process that opened the file just before
    finds, once it holds the lock, that the file is gone, and takes a new one."""
    path.unlink(missing_ok=True)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
