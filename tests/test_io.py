"""Atomic writes and completion markers."""

from __future__ import annotations

import pytest

from reslstm.io import atomic_path, atomic_write_text, clear_done, is_done, mark_done


def test_failed_block_leaves_nothing(tmp_path) -> None:
    target = tmp_path / "out.jsonl.gz"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.name.endswith(".jsonl.gz")
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_replace_and_directories(tmp_path) -> None:
    atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(tmp_path / "a.txt", "two")
    assert (tmp_path / "a.txt").read_text() == "two"
    with atomic_path(tmp_path / "d") as tmp:
        tmp.mkdir()
        (tmp / "x").write_text("x")
    assert (tmp_path / "d" / "x").read_text() == "x"


def test_marker_is_keyed_on_inputs(tmp_path) -> None:
    assert not is_done(tmp_path)
    mark_done(tmp_path, {"lr": 1})
    assert is_done(tmp_path, {"lr": 1}) and not is_done(tmp_path, {"lr": 2})
    clear_done(tmp_path)
    assert not is_done(tmp_path)


def test_a_file_write_never_replaces_a_directory(tmp_path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("kept")
    with pytest.raises(IsADirectoryError, match="is a directory: a file cannot replace it"):
        atomic_write_text(target, "text")
    assert (target / "weights").read_text() == "kept"
