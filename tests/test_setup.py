"""scripts/setup_env.sh: an unsupported Python is refused in one line before anything is installed;
without apt each missing package is named and setup goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT


def test_an_unsupported_python_is_refused_before_anything_is_installed(tmp_path: Path) -> None:
    python = tmp_path / "python3.13"  # an interpreter that reports 3.13 (none is installed here)
    python.write_text("#!/bin/sh\necho 3.13\n")
    python.chmod(0o755)
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHON": str(python), "RESLSTM_VENV": str(venv)}
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup_env.sh")], capture_output=True, text=True, env=env
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Python 3.13 is not supported" in lines[0]
    assert "3.10, 3.11 or 3.12" in lines[0] and not venv.exists()


@pytest.mark.skipif(
    sys.prefix == sys.base_prefix, reason="re-runs setup in the running venv, never a system Python"
)
def test_without_apt_each_missing_package_is_named_and_setup_goes_on(tmp_path: Path) -> None:
    """``RESLSTM_NO_APT=1`` while no Debian package is installed (a ``dpkg-query`` that finds
    none): one line per package saying what it is for, and the setup finishes. It re-runs the
    setup of the venv running this test (scripts/run_tests.sh's), where everything is installed
    already (pip has nothing to do; the kaldifeat wheel is not rebuilt: scripts/check_setup.sh
    builds it with the CUDA toolkit hidden)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (fake / "dpkg-query").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "RESLSTM_NO_APT": "1",
        "RESLSTM_FORCE_SETUP": "1",
        "RESLSTM_VENV": sys.prefix,
    }
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup_env.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr
    missing = [line for line in out.stderr.splitlines() if "not installed: Debian package" in line]
    assert len(missing) == 10
    assert (
        "[setup] not installed: Debian package sctk (NIST asclite (stage 5's asclite scores) and "
        "sc_stats (stage 6's NIST tests)); the recipe goes on without it"
    ) in missing
    assert "apt-get" not in out.stderr and out.stderr.splitlines()[-1].startswith("[setup] done")
