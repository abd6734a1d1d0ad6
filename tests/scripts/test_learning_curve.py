"""``scripts/learning_curve.py``: its corpora are the default corpus' sizes and layout, every
model waits for its corpus, the longest task starts first, and the plot takes any number of
variants."""

from __future__ import annotations

import argparse
from pathlib import Path

from reslstm.cli.compose import compose_config
from tests.helpers import load_script

curve = load_script("learning_curve")


def args(tmp_path: Path, minutes: list[float], runs: list[str]) -> argparse.Namespace:
    return argparse.Namespace(minutes=minutes, runs=runs, tag="_x", out=tmp_path, overrides=["a=1"])


def test_the_default_size_gives_the_default_corpus(tmp_path: Path) -> None:
    """The default training minutes map to the default number of meetings, so the learning
    curve's 240-minute corpus is the one ``./run.sh`` trains on (dev and test are the same)."""
    mini = compose_config([]).data.mini
    got = curve.corpus_args(tmp_path, float(mini.minutes.train))
    assert f"data.mini.meetings.train={mini.meetings.train}" in got
    assert f"data.mini.minutes.train={mini.minutes.train}" in got
    assert f"paths.data_dir={tmp_path / f'{mini.minutes.train}min' / 'data'}" in got


def test_each_model_waits_for_its_corpus_and_the_longest_comes_first(tmp_path: Path) -> None:
    tasks = curve.plan(args(tmp_path, [60, 240], ["residual_lstm:3", "plain_lstm:10"]))
    prepares = [t for t in tasks if t.name.startswith("prepare")]
    models = [t for t in tasks if not t.name.startswith("prepare")]
    assert [t.name for t in prepares] == ["prepare 60min", "prepare 240min"]
    assert len(models) == 4
    for t in models:
        minutes = t.name.split()[-1]
        assert t.after == [f"prepare {minutes}"]
        assert "tag=_x" in t.args and t.args[-1] == "a=1"  # the variant's overrides come last
        assert t.log == tmp_path / minutes / "logs" / f"{t.name.split()[0]}.log"
    by_cost = [t.name for t in sorted(tasks, key=lambda t: -t.cost)]
    assert by_cost[:2] == ["prepare 60min", "prepare 240min"]  # corpora before any training
    assert by_cost[2:] == [
        "plain_lstm_L10_x 240min",
        "residual_lstm_L3_x 240min",
        "plain_lstm_L10_x 60min",
        "residual_lstm_L3_x 60min",
    ]


def test_the_plot_names_every_variant_even_past_the_markers(tmp_path: Path) -> None:
    """13 variants (one more than the markers: the plot crashed there once) of two models."""
    found = [
        {
            "train_hours": hours,
            "run": run,
            "variant": "default" if v == 0 else f"_v{v}",
            "dev_greedy_cer": 50 - 10 * hours + v,
            "dev_beam_wer": 70 - 10 * hours + v,
        }
        for v in range(13)
        for run in ("plain_lstm_L10", "residual_lstm_L3")
        for hours in (0.88, 1.76)
    ]
    path = tmp_path / "curve.png"
    curve.plot(found, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rest = {"train_time_s": 1.0, "epochs": 2, "best_epoch": 1}
    table = curve.markdown(
        [r | rest | {"dev_greedy_wer": None, "test_beam_wer": None} for r in found]
    )
    assert table.count("| training audio |") == 13
    assert "| 0.88 h | plain_lstm_L10 | 1 | 2 (1) | 41.2 % | – % | 61.2 / – % |" in table
