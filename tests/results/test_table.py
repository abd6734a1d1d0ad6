"""RESULTS.md and plots from fabricated run directories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reslstm.results import collect_runs, write_results
from tests.helpers import run_stage

# (model, layers) -> (num_params, dev WER, test WER) for the "beam_lm" decode
RUNS = {
    ("plain_lstm", 3): (10_000_000, 50.0, 52.0),
    ("plain_lstm", 10): (30_000_000, 56.0, 59.28),  # test +14.0 % rel.
    ("highway_lstm", 3): (11_000_000, 49.0, 50.0),
    ("residual_lstm", 3): (9_000_000, 48.0, 49.0),
    ("residual_lstm", 10): (27_000_000, 45.0, 47.0),
}


def make_run(
    root: Path,
    model: str,
    layers: int,
    params: int,
    dev: float,
    test: float,
    tag: str = "",
    seed: int = 42,
) -> None:
    """A finished run; overlapped WER is 1.2x and non-overlapped 0.9x the overall WER, and its
    ``per_utt.tsv`` has 3 overlapped and 9 non-overlapped segments of 1,000 words each (the
    non-overlapped ones at that WER, to 0.1 %)."""
    run = root / f"{model}_L{layers}{tag}"
    summary = {"model": model, "num_layers": layers, "num_params": params, "seed": seed}
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
        subsets = {"overlapped": {"wer": 1.2 * wer, "num_utts": 3}}
        subsets["non_overlapped"] = {"wer": 0.9 * wer, "num_utts": 9}
        (out / "scores.json").write_text(json.dumps({"wer": wer, "cer": wer / 2} | subsets))
        errors = [round(12 * wer)] * 3 + [round(9 * wer)] * 9
        rows = [
            f"u{i:02d}\t1000\t{e}\t{e}\t0\t0\t\t{int(i < 3)}\tA\tB" for i, e in enumerate(errors)
        ]
        header = "id\tref_words\terrors\tsub\tdel\tins\tnote\toverlapped\tref\thyp\n"
        (out / "per_utt.tsv").write_text(header + "\n".join(rows) + "\n")


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
    # params, epochs, dev all / over / non-over, test likewise, CERs, rel. change of non-over
    # WER against the same model's 3 layers, the paper's over / non-over figures, train time
    assert (
        "| 30.00 M | 2 | 56.0 / 67.2 / 50.4 | 59.3 / 71.1 / 53.4 | 28.0 | 29.6 "
        "| +12.0 % / +14.0 % | 56.3 / 48.2 | 1.5 h |" in rows[("plain_lstm", "10")]
    )
    assert "| 11.00 M | 2 | 49.0 / 58.8 / 44.1 |" in rows[("highway_lstm", "3")]
    # Five-layer rows and the 10-layer highway run are missing: dashes, the paper's figures.
    assert rows[("highway_lstm", "10")].count("–") == 13 and "53.5 / 44.8" in text
    assert ("residual_lstm", "5") in rows
    # Both decode methods get a table; greedy has the one value written.
    assert "### Decoding: `beam_lm`" in beam_table
    assert "| plain_lstm | 3 | 10.00 M | 2 | 60.0 / – / – | – / – / – | 30.0 | – |" in greedy_table
    # The claims, checked on the non-overlapped WER: plain 10 vs 3 holds on dev and test.
    claims = text.split("## The paper's claims")[1]
    assert (
        "| plain 10 layers worse than plain 3 | +13.7 % | +12.0 % | plain 10 vs 3: [+12.0, +12.0] "
        "% | ✓ | +14.0 % | plain 10 vs 3: [+14.1, +14.1] % | ✓ |" in claims
    )
    assert (
        "| residual 5 layers no worse than residual 3 | -1.2 % | – | – | – | – | – | – |" in claims
    )
    assert "paired bootstrap over the non-overlapped segments" in claims
    assert "asclite" in text and "jiwer" in text and "overlapped" in text


def test_bpe_runs_are_rows_of_their_own(tmp_path: Path) -> None:
    for (model, layers), values in RUNS.items():
        make_run(tmp_path, model, layers, *values)
    chars = write_results(tmp_path, method="beam_lm")
    make_run(tmp_path, "residual_lstm", 3, 9_100_000, 40.0, 41.0, tag="_bpe200")  # lang=bpe
    both = write_results(tmp_path, method="beam_lm")
    row = next(ln for ln in both.splitlines() if ln.startswith("| residual_lstm_bpe200 | 3 |"))
    assert "| 40.0 / 48.0 / 36.0 | 41.0 / 49.2 / 36.9 |" in row
    assert row.split("|")[-3].strip() == "–"  # the paper's figures are for characters
    assert both.split("## The paper's claims")[1] == chars.split("## The paper's claims")[1]


def test_untrained_runs_are_flagged_and_fail_their_claims(tmp_path: Path) -> None:
    for (model, layers), values in RUNS.items():
        make_run(tmp_path, model, layers, *values)
    summary = tmp_path / "plain_lstm_L10" / "train_summary.json"
    summary.write_text(json.dumps(json.loads(summary.read_text()) | {"learning": False}))
    text = write_results(tmp_path)
    row = next(r for r in text.splitlines() if r.startswith("| plain_lstm | 10 |"))
    assert "2 (untrained)" in row and "| untrained |" in row
    assert (
        "| plain 10 layers worse than plain 3 | +13.7 % | untrained: plain_lstm L10 | – | ✗ |"
        in text
    )


def test_seed_runs_give_mean_and_std_and_claims_held_per_seed(tmp_path: Path) -> None:
    for seed, shift in ((42, 0.0), (1, 2.0)):
        tag = "" if seed == 42 else f"_seed{seed}"
        for (model, layers), (params, dev, test) in RUNS.items():
            make_run(tmp_path, model, layers, params, dev + shift, test + shift, tag, seed)
    text = write_results(tmp_path)
    assert "## Over 2 seeds (1, 42)" in text
    row = next(r for r in text.splitlines() if r.startswith("| plain_lstm | 10 | 2 |"))
    assert "| 57.0 ± 1.4 |" in row
    pooled = (
        "| plain 10 layers worse than plain 3 | 2/2 | +11.8 % | plain 10 vs 3: [+11.5, +12.0] % "
    )
    assert pooled + "| ✓ | 2/2 |" in text  # pooled over seeds: 51.3 vs 45.9
    assert "over the non-overlapped seeds (2) and segments, two-level" in text
    assert "![Non-overlapped WER by depth over the seeds](wer_by_depth_seeds.png)" in text
    assert (tmp_path / "wer_by_depth_seeds.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # seed runs stay out of the main table
    assert "_seed1 |" not in text


def test_write_results_without_runs(tmp_path: Path) -> None:
    text = write_results(tmp_path)
    assert "No run has `beam_lm` scores yet" in text
    assert (tmp_path / "wer_by_depth.png").is_file() and (tmp_path / "dev_loss.png").is_file()


def test_pooled_runs_are_tabulated_against_table_2(tmp_path: Path) -> None:
    """Stage 6 of a pooled corpus directory (data.train_mics=[sdm,ihm]): the paper's Table 2
    figures (no plain LSTM rows, which it lacks) and its claims."""
    corpus = tmp_path / "mini_sdm+ihm"
    for (model, layers), values in RUNS.items():
        if model != "plain_lstm":
            make_run(corpus, model, layers, *values)
    out = run_stage("table", f"paths.exp_dir={tmp_path}", "data.train_mics=[sdm,ihm]")
    assert out.returncode == 0, out.stdout[-3000:]
    text = (corpus / "RESULTS.md").read_text()
    assert text.startswith("# Results: mini_sdm+ihm")
    assert "## Table 2: WER by model and depth (the paper: AMI SDM + IHM pooled, tested" in text
    rows = text.split("### Decoding: `beam_lm`")[1].split("###")[0].splitlines()
    row = next(r for r in rows if r.startswith("| highway_lstm | 10 |"))
    assert "52.1 / 43.4" in row and "| plain_lstm |" not in text
    claims = text.split("## The paper's claims, checked (Table 2,")[1]
    assert "| residual 10 layers the best of the six | 39.3 % | – | – | – | – | – | – |" in claims
    assert "| residual 10 layers no worse than residual 3 | -6.2 % |" in claims
    assert "| ✓ | -4.1 % | residual 10 vs 3: [-4.1, -4.1] % | ✓ |" in claims  # 47.0 vs 49.0
    assert "| highway 10 layers worse than highway 3 | +2.6 % | – | – | – | – | – | – |" in claims
    assert "of 5 on test" in claims and "Table 2; AMI SDM + IHM pooled" in text
    assert "| plain 10 layers" not in text  # Table 1's claims stay in Table 1's results
    assert "## Table 1" in write_results(tmp_path / "elsewhere")


def test_complete_grids_of_other_variants_get_their_claims_side_by_side(tmp_path: Path) -> None:
    cells = [(m, n) for m in ("plain_lstm", "highway_lstm", "residual_lstm") for n in (3, 5, 10)]
    for tag, shift in (("", 0.0), ("_warmup", -1.0)):
        for model, layers in cells:
            dev = 50.0 - layers / 2 if model == "residual_lstm" else 45.0 + layers
            make_run(tmp_path, model, layers, 1_000_000 * layers, dev + shift, dev, tag)
    make_run(tmp_path, "residual_lstm", 3, 1, 40.0, 40.0, "_incomplete")
    text = write_results(tmp_path)
    section = text.split("## The claims by training variant")[1].split("\n## ")[0]
    assert "| | default | `_warmup` |" in section and "_incomplete" not in section
    assert "| seeds | 1 | 1 |" in section
    assert "| plain 10 layers worse than plain 3 | ✓ / ✓ | ✓ / ✓ |" in section
    assert (
        "| mean dev WER of the 9 models over the seeds (all segments) | 49.67 | 48.67 |" in section
    )
    assert "| untrained models (over the seeds) | 0 | 0 |" in section


def test_a_variant_pools_its_seeds_and_its_seed_runs_stay_out_of_the_main_table(
    tmp_path: Path,
) -> None:
    cells = [(m, n) for m in ("plain_lstm", "highway_lstm", "residual_lstm") for n in (3, 5, 10)]
    runs = [("", 42, 0.0), ("_avx2", 42, 1.0), ("_avx2_seed1", 1, 3.0)]
    runs.append(("_avx2_seed2", 2, 0.0))  # incomplete: left out of the pool
    for tag, seed, shift in runs:
        for model, layers in cells if tag != "_avx2_seed2" else cells[:2]:
            dev = 50.0 - layers / 2 if model == "residual_lstm" else 45.0 + layers
            make_run(tmp_path, model, layers, 1_000_000 * layers, dev + shift, dev, tag, seed)
    text = write_results(tmp_path)
    section = text.split("## The claims by training variant")[1].split("\n## ")[0]
    assert "| | default | `_avx2` |" in section and "_seed" not in section
    assert "| seeds | 1 | 2 |" in section
    assert (
        "| mean dev WER of the 9 models over the seeds (all segments) | 49.67 | 51.67 |" in section
    )
    assert "_avx2_seed1" not in text.split("## The claims by training variant")[0]
    assert "## Over " not in text  # the default variant has one seed: no seeds section


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("score.bootstrap_samples=0", "score.bootstrap_samples must be >= 1, got 0"),
        ("score.confidence=100", r"score.confidence must be in \(0, 100\) %, got 100"),
    ],
)
def test_bad_bootstrap_settings_are_one_line_and_write_nothing(
    tmp_path: Path, override: str, message: str
) -> None:
    make_run(tmp_path / "mini_sdm", "residual_lstm", 3, 1, 45.0, 47.0)
    out = run_stage("table", f"paths.exp_dir={tmp_path}", override)
    assert out.returncode == 2 and re.search(f"^error: {message}$", out.stdout, re.MULTILINE)
    assert not (tmp_path / "mini_sdm" / "RESULTS.md").exists()
