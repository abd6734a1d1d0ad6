"""run.sh: help, stage validation, and Hydra errors surface as one clear line."""

from __future__ import annotations

import pytest

from tests.helpers import run_sh


def test_help_lists_every_stage() -> None:
    out = run_sh("--help")
    assert out.returncode == 0
    for i, name in enumerate(["data", "features", "tokens", "train", "decode", "score", "table"]):
        assert f"  {i}  {name}:" in out.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--stage", "99"], "unknown stage 99"),
        (["--stop-stage", "x"], "--stop-stage needs a number"),
        (["--bogus"], "unknown option --bogus"),
        (["--stage", "3", "--stop-stage", "1"], "is after --stop-stage"),
    ],
)
def test_bad_options_fail_with_one_line(args: list[str], expected: str) -> None:
    out = run_sh(*args)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and expected in out.stderr


def test_override_typo_fails_before_any_stage() -> None:
    out = run_sh("model.no_such_key=1")
    assert out.returncode == 2
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no_such_key" in errors[0]
    assert "=== stage" not in out.stdout
