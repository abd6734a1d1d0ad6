"""scripts/setup_env.sh refuses an unsupported Python in one line, before installing anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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
