"""One writer per directory (reslstm.runlock) against a real second process: refused in one
line naming it while it lives, taken over once it is killed. The stages themselves are tested
in tests/reliability/test_interrupted_training.py (two trainings of one run)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reslstm.errors import ReslstmError
from reslstm.runlock import lock_file, sole_writer
from tests.helpers import ROOT

HOLD = """
import sys, time
from pathlib import Path
from reslstm.runlock import sole_writer
with sole_writer([Path(sys.argv[1])], "a holder"):
    print("held", flush=True)
    time.sleep(600)
"""


def hold(directory: Path) -> subprocess.Popen:
    """A process that holds the lock of ``directory`` until it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "held\n"
    return proc


def test_a_live_writer_is_named_and_a_killed_ones_lock_taken_over(tmp_path: Path) -> None:
    run = tmp_path / "exp" / "residual_lstm_L2"
    holder = hold(run)
    try:
        with pytest.raises(ReslstmError) as e, sole_writer([run], "a second"):
            pytest.fail("a second writer got the lock")
        message = str(e.value)
        assert message.startswith(
            f"{run} is being written by process {holder.pid} on {socket.gethostname()} "
            "(a holder, started "
        ) and message.endswith(f"): wait for it to end or stop it (lock {lock_file(run)})")
        assert "\n" not in message and not run.exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock_file(run).is_file()  # left behind by the killed process: taken over
    with sole_writer([run], "the next"):
        assert f'"pid": {os.getpid()}' in lock_file(run).read_text()
    assert not lock_file(run).exists()  # a writer that ends removes its lock


def test_one_busy_directory_of_several_refuses_them_all(tmp_path: Path) -> None:
    free, busy = tmp_path / "manifests" / "mini_sdm", tmp_path / "manifests" / "mini_ihm"
    holder = hold(busy)
    try:
        with pytest.raises(ReslstmError, match=f"{busy} is being written by process {holder.pid}"):
            with sole_writer([free, busy], "a second"):
                pytest.fail("a second writer got the lock")
        assert not lock_file(free).exists()  # the one taken first was released
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
