"""RESULTS.md and plots from fabricated run directories."""

from __future__ import annotations

import json
from pathlib import Path

from reslstm.results import collect_runs, write_results

# (model, layers) -> (num_params, dev WER, test WER) for the "beam_lm" decode
RUNS = {
    ("plain_lstm", 3): (10_000_000, 50.0, 52.0),
    ("plain_lstm", 10): (30_000_000, 56.0, 59.28),  # test +14.0 % rel.
    ("highway_lstm", 3): (11_000_000, 49.0, 50.0),
    ("residual_lstm", 3): (9_000_000, 48.0, 49.0),
    ("residual_lstm", 10): (27_000_000, 45.0, 47.0),
}


def make_run(root: Path, model: str, layers: int, params: int, dev: float, test: float) -> None:
    run = root / f"{model}_L{layers}"
    summary = {"model": model, "num_layers": layers, "num_params": params}
    summary |= {"train_time_s": 5400.0, "epochs": 2, "steps": 100, "best_dev_loss": 1.0}
    (run / "decode").mkdir(parents=True)
    (run / "train_summary.json").write_text(json.dumps(summary))
    rows = [
        {"epoch": e, "step": 50 * e, "train_loss": 2.0 / e, "dev_loss": 1.5 / e} for e in (1, 2)
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"epo')
    for split, wer in (("dev", dev), ("test", test)):
        out = run / "decode" / f"{split}_beam_lm"
        out.mkdir()
        (out / "scores.json").write_text(json.dumps({"wer": wer, "cer": wer / 2}))


def test_collect_runs_tolerates_missing_pieces(tmp_path: Path) -> None:
    make_run(tmp_path, "residual_lstm", 10, 1, 45.0, 47.0)
    (tmp_path / "plain_lstm_L3_lr1e-3").mkdir()  # just started: nothing written yet
    (tmp_path / ".hydra").mkdir()
    (tmp_path / "lm").mkdir()
    runs = collect_runs(tmp_path)
    assert [(r.model, r.num_layers, r.tag) for r in runs] == [
        ("plain_lstm", 3, "_lr1e-3"),
        ("residual_lstm", 10, ""),
    ]
    assert runs[0].summary == {} and runs[0].scores == {} and runs[0].score("dev", "greedy") is None
    assert len(runs[1].metrics) == 2  # the torn last line is skipped
    assert (
        runs[1].score("test", "beam_lm") == 47.0 and runs[1].score("test", "beam_lm", "cer") == 23.5
    )


def test_write_results_table_paper_figures_and_plots(tmp_path: Path) -> None:
    for (model, layers), values in RUNS.items():
        make_run(tmp_path, model, layers, *values)
    greedy = tmp_path / "plain_lstm_L3" / "decode" / "dev_greedy"
    greedy.mkdir()
    (greedy / "scores.json").write_text(json.dumps({"wer": 60.0, "cer": 30.0}))

    text = write_results(tmp_path, method="beam_lm")

    assert (tmp_path / "RESULTS.md").read_text() == text
    for png in ("wer_by_depth.png", "dev_loss.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    beam_table, greedy_table = text.split("### Decoding: `greedy`")
    lines = [line for line in beam_table.splitlines() if line.startswith("| ") and "_lstm" in line]
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in lines}
    assert (
        "| 30.00 M | 56.00 | 59.28 | 28.00 | 29.64 | +12.0 % / +14.0 % | 1.5 h | 2 |"
        in (rows[("plain_lstm", "10")])
    )
    assert "| 11.00 M | 49.00 | 50.00 |" in rows[("highway_lstm", "3")]
    # The 10-layer highway run is missing: a row of dashes.
    assert rows[("highway_lstm", "10")].count("–") == 9
    assert "+13.7 %" in text and "41.0 %" in text and "asclite" in text and "jiwer" in text
    # Paper table: ours for plain 10 vs 3, residual 10-layer WER, residual vs plain params.
    assert "| 10- vs 3-layer plain LSTM, WER (rel.) | +13.7 % | +14.0 % |" in text
    assert "| 10-layer residual LSTM, WER | 41.0 % | 47.0 % |" in text
    assert "| 10- vs 3-layer highway LSTM, WER (rel.) | +6.2 % | – |" in text
    # Both decode methods get a table; greedy has the one value written.
    assert "### Decoding: `beam_lm`" in beam_table
    assert "| plain_lstm | 3 | 10.00 M | 60.00 | – | 30.00 | – | – |" in greedy_table


def test_write_results_without_runs(tmp_path: Path) -> None:
    text = write_results(tmp_path)
    assert "No run has `beam_lm` scores yet" in text
    assert (tmp_path / "wer_by_depth.png").is_file() and (tmp_path / "dev_loss.png").is_file()
