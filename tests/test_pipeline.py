"""The whole recipe through run.sh on the tiny corpus (stages 0-6, the paper's depths), its
science output, the recipes (seeds, depth sweep, Table 2) on top of it, then transcribe."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow


# experiment=smoke trains one epoch, after which most models are still near the CTC blank
# plateau: every one counts as learning here, so that each claim gets its verdict and interval.
SMOKE = ["experiment=smoke", "train.learning_cer=1000"]
DEPTHS = (3, 5, 10)  # the paper's, which its claims compare


def smoke_run(tmp: Path, *args: str, script: str = "run.sh") -> subprocess.CompletedProcess:
    """``./run.sh args…`` (or ``recipes/<script>``) with :data:`SMOKE`, data and experiments
    under ``tmp``; its output (stderr merged, in order) is ``stdout``."""
    paths = [f"paths.data_dir={tmp}/data", f"paths.exp_dir={tmp}/exp"]
    cmd = ["bash", str(ROOT / script), *args, *SMOKE, *paths]
    out = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900
    )
    assert out.returncode == 0, out.stdout[-6000:]
    return out


@pytest.fixture(scope="module")
def recipe(tiny_corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The grid at the paper's depths; its stages 0-2 start from the session's generated corpus
    (linked where stage 0 looks for it), and build everything else."""
    tmp = tmp_path_factory.mktemp("recipe")
    (tmp / "data" / "corpora").mkdir(parents=True)
    (tmp / "data" / "corpora" / "mini_tiny").symlink_to(tiny_corpus_dir)
    smoke_run(tmp, "--layers", " ".join(map(str, DEPTHS)), "--jobs", "2")
    return tmp


def a_wav(recipe: Path) -> Path:
    """A meeting's far-field recording of the corpus."""
    return next((recipe / "data" / "corpora" / "mini_tiny").rglob("*.Array1-01.wav"))


def claim_rows(results: str) -> list[list[str]]:
    """The cells of each row of the claims table of RESULTS.md."""
    table = results.split("## The paper's claims, checked")[1].split("\n\n")[1]
    return [[c.strip() for c in row.strip("|").split("|")] for row in table.splitlines()[2:]]


def test_all_stages_produce_the_table(recipe: Path) -> None:
    corpus = recipe / "exp" / "mini_tiny_sdm"
    results = (corpus / "RESULTS.md").read_text()
    for model in ("plain_lstm", "highway_lstm", "residual_lstm"):
        for layers in DEPTHS:
            run = corpus / f"{model}_L{layers}"
            assert (run / "train_summary.json").is_file()
            for split in ("dev", "test"):
                for method in ("greedy", "beam_lm"):
                    out = run / "decode" / f"{split}_{method}"
                    assert (out / "wer").read_text().startswith("%WER")
                    scores = json.loads((out / "scores.json").read_text())
                    subsets = (
                        scores["overlapped"]["num_utts"] + scores["non_overlapped"]["num_utts"]
                    )
                    assert subsets == scores["num_utts"]
                    assert (out / "hyp.ctm").is_file() and (out / "hyp.seglst.json").is_file()
                    assert scores["asclite"]["num_words"] > 0
                    assert scores["meeteval"]["tcorc"]["ref_len"] > 0
                assert (run / "decode" / f"{split}.stm").read_text().count("\n") > 0
            assert f"| {model} | {layers} |" in results
    assert "### Scoring methods compared" in results
    assert (corpus / "wer_by_depth.png").stat().st_size > 0
    assert (corpus / "dev_loss.png").stat().st_size > 0


def test_every_claim_gets_a_verdict_and_an_interval_and_sc_stats_a_second_opinion(
    recipe: Path,
) -> None:
    """The science output of stage 6: each of the paper's claims decided on dev and on test
    (✓, ≈ or ✗) with its bootstrap interval, the parameter claim by exact counts (no interval),
    and NIST sc_stats run on the pairs the claims compare."""
    results = (recipe / "exp" / "mini_tiny_sdm" / "RESULTS.md").read_text()
    rows = claim_rows(results)
    assert len(rows) == 8
    for claim, _paper, dev, dev_ci, dev_mark, test, test_ci, test_mark in rows:
        assert dev_mark in "✓≈✗" and test_mark in "✓≈✗" and dev_mark and test_mark, claim
        assert dev != "–" and test != "–", claim
        if "parameters" in claim:
            assert dev_ci == test_ci == "–" and dev == test, claim
        else:
            assert re.fullmatch(r".*\[[-+]\d+\.\d, [-+]\d+\.\d\] %", dev_ci), (claim, dev_ci)
            assert re.fullmatch(r".*\[[-+]\d+\.\d, [-+]\d+\.\d\] %", test_ci), (claim, test_ci)
    second = results.split("### Second opinion: NIST sc_stats")[1].split("\n\n")
    pairs = [row for row in second[1].splitlines()[2:] if row.startswith("| ")]
    assert pairs and all(" vs " in row for row in pairs)
    assert "sc_stats was not run" not in second[2]


def test_reslstm_score_on_the_pipelines_files_gives_stage_5s_numbers(recipe: Path) -> None:
    """reslstm-score on stage 4's STM and hypotheses (CTM for asclite, SegLST with speakers
    for meeteval) counts what stage 5 counted."""
    decode = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L3" / "decode"
    out = decode / "dev_beam_lm"
    stage5 = json.loads((out / "scores.json").read_text())
    assert (out / "hyp.ctm").read_text().count("\n") > 0  # words to count
    found = {}
    for hyp, method in (("hyp.ctm", "asclite"), ("hyp.seglst.json", "meeteval")):
        cmd = ["--ref", str(decode / "dev.stm"), "--hyp", str(out / hyp), "--methods", method]
        json_out = out.parent / f"{method}.json"
        done = subprocess.run(
            [sys.executable, "-m", "reslstm.cli.score", *cmd, "--json", str(json_out)],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        found |= json.loads(json_out.read_text())
    keys = ("wer", "errors", "num_words", "sub", "del", "ins")
    assert {k: found["asclite"][k] for k in keys} == {k: stage5["asclite"][k] for k in keys}
    for metric in ("cpwer", "tcorc"):
        ours, theirs = found["meeteval"][metric], stage5["meeteval"][metric]
        assert (ours["wer"], ours["errors"], ours["ref_len"]) == (
            theirs["wer"], theirs["errors"], theirs["ref_len"]
        ), metric  # fmt: skip


def test_the_seeds_recipe_adds_a_seed_and_redoes_nothing_finished(recipe: Path) -> None:
    """recipes/seeds.sh, 2 seeds (42 and 1) of one cell: the default grid's run is finished, so
    its stages 0-5 do no work; seed 1 trains its own run; RESULTS.md pools both."""
    out = smoke_run(
        recipe, "--seeds", "1", "--models", "residual_lstm", "--layers", "3",
        script="recipes/seeds.sh",
    )  # fmt: skip
    first, seed = out.stdout.split("=== seed 1")
    assert "nothing to do" in first and "fbank train:" not in first
    assert "epoch 1 done" not in first  # training already finished: resumed at its end
    assert "epoch 1 done" in seed
    corpus = recipe / "exp" / "mini_tiny_sdm"
    seed_run = corpus / "residual_lstm_L3_seed1"
    assert json.loads((seed_run / "train_summary.json").read_text())["seed"] == 1
    assert (seed_run / "decode" / "test_beam_lm" / "scores.json").is_file()
    results = (corpus / "RESULTS.md").read_text()
    pooled = results.split("## Over 2 seeds (1, 42)")[1].split("\n\n")[1]
    assert re.search(r"^\| residual_lstm \| 3 \| 2 \| [\d.]+ ± [\d.]+ \|", pooled, re.M)


def test_the_depth_sweep_recipe_tabulates_two_depths(recipe: Path) -> None:
    """recipes/depth_sweep.sh over 2 depths already trained: stages 3-5 do no work, then
    DEPTH_SWEEP.md (a row per depth of the corpus's runs), its figure, and RESULTS.md again."""
    out = smoke_run(
        recipe, "--models", "residual_lstm", "--layers", "3 5", script="recipes/depth_sweep.sh"
    )
    assert "epoch 1 done" not in out.stdout
    corpus = recipe / "exp" / "mini_tiny_sdm"
    sweep = (corpus / "DEPTH_SWEEP.md").read_text()
    rows = [line.split(" | ")[:2] for line in sweep.splitlines() if line.startswith("| residual")]
    assert rows == [["| residual_lstm", f"{n}"] for n in DEPTHS]  # every depth trained here
    assert (corpus / "depth_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "=== stage 6" in out.stdout


def test_the_paper_table2_recipe_pools_sdm_and_ihm(recipe: Path) -> None:
    """recipes/paper_table2.sh for one cell: IHM prepared beside SDM (stages 0-1), the run
    trained on both microphones' cuts, tested on SDM, tabulated against the paper's Table 2."""
    smoke_run(
        recipe, "--models", "residual_lstm", "--layers", "3", script="recipes/paper_table2.sh"
    )
    assert (recipe / "data" / "fbank" / "mini_tiny_ihm" / ".done").is_file()
    pooled = recipe / "exp" / "mini_tiny_sdm+ihm"
    run = pooled / "residual_lstm_L3"
    utterances = [
        int(re.search(r"on (\d+) utterances", (r / "train.log").read_text()).group(1))
        for r in (run, recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L3")
    ]
    assert utterances[0] > utterances[1]  # IHM's training cuts as well as SDM's
    assert (run / "decode" / "test_beam_lm" / "scores.json").is_file()
    results = (pooled / "RESULTS.md").read_text()
    assert "## Table 2: WER by model and depth (the paper: AMI SDM + IHM pooled" in results
    assert "| residual_lstm | 3 |" in results


def transcribe_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reslstm.cli.transcribe", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_a_file_streamed_in_chunks_gives_the_words_and_ctm_of_the_whole_file(
    recipe: Path, tmp_path: Path
) -> None:
    wav = a_wav(recipe)
    run = recipe / "exp" / "mini_tiny_sdm" / "highway_lstm_L3"
    whole = transcribe_cli(str(run), str(wav), "--method", "greedy", "--ctm", f"{tmp_path}/w.ctm")
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.startswith(f"{wav}\t") and whole.stdout.count("\n") == 1  # one line
    chunked = [str(run), str(wav), "--method", "greedy", "--chunk-ms", "40"]
    streamed = transcribe_cli(*chunked, "--ctm", f"{tmp_path}/s.ctm")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == whole.stdout
    ctm = (tmp_path / "w.ctm").read_text()
    assert ctm == (tmp_path / "s.ctm").read_text() and ctm.count("\n") >= 1
    assert all(line.split()[:2] == [wav.name, "1"] for line in ctm.splitlines())
    words = whole.stdout.split("\t")[1].split()
    assert len(ctm.splitlines()) == len(words)
    live = [ln.split("\t") for ln in streamed.stderr.splitlines() if ln.startswith(f"{wav}\t")]
    assert [w[3] for w in live] == words  # each word printed once final, the last ones too
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "file").write_text("kept")
    refused = transcribe_cli(*chunked, "--ctm", f"{tmp_path}/keep")
    assert refused.returncode == 2 and "is a directory; give a file name" in refused.stderr
    assert (tmp_path / "keep" / "file").read_text() == "kept"
    twice = transcribe_cli(str(run), str(wav), str(wav), "--ctm", f"{tmp_path}/t.ctm")
    assert twice.returncode == 2 and f"{wav.name} is given twice" in twice.stderr
    beam = transcribe_cli(str(run), str(wav), "--chunk-ms", "40")
    assert beam.returncode == 2 and beam.stderr.strip().splitlines()[-1] == (
        "error: streaming decodes greedily; this transcriber uses 'beam_lm' (load it with "
        "method='greedy')"
    )


def test_the_python_api_transcribes_files_and_sample_arrays(
    recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a notebook does (reslstm's exports), from the recipe root the run was trained in."""
    import soundfile

    import reslstm

    monkeypatch.chdir(ROOT)
    wav = a_wav(recipe)
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L3"
    asr = reslstm.Transcriber.from_run(run, method="greedy")
    words = asr.transcribe(wav)
    assert words  # the trained model says something
    samples, rate = soundfile.read(wav, dtype="float32")
    assert asr.transcribe(samples, sample_rate=rate) == words
    assert all(0 <= w.start <= w.end <= len(samples) / rate + 0.1 for w in words)
    assert isinstance(reslstm.load_trained_model(run), type(asr.model))
    assert reslstm.__all__ == ["Transcriber", "Word", "build_model", "load_trained_model"]


def test_bpe_tokens_train_decode_and_transcribe(
    tiny_prepared: Path, tmp_path: Path, tiny_config
) -> None:
    """Stages 2-4 in process with lang=bpe on the tiny corpus, then transcribe: it finds the
    BPE model through the run's config, and a corrupted one is one error line."""
    from reslstm.decode.stage import decode_run
    from reslstm.lang.prepare import prepare_lang
    from reslstm.layout import Layout
    from reslstm.train.trainer import Trainer
    from tests.helpers import tiny_training

    overrides = tiny_training(tiny_prepared, tmp_path / "exp", "lang=bpe", "lang.bpe_vocab_size=60")
    cfg = tiny_config(*overrides[1:], f"paths.lang_dir={tmp_path}/lang", "train.max_epochs=2")
    layout = Layout.of(cfg)
    assert layout.run.name == "residual_lstm_L2_bpe60"
    prepare_lang(cfg.lang, layout.manifests.path, layout.lang.path)
    Trainer(cfg).run()
    decode_run(cfg)
    lexicon = {line.split()[0] for line in layout.lang.lexicon.read_text().splitlines()}
    for split in ("dev", "test"):
        hyps = layout.run.decode(split, "beam_lm").hyps.read_text().splitlines()
        assert set(" ".join(h.split("\t")[1] for h in hyps).split()) <= lexicon
    wav = next(Path(cfg.data.corpus_dir).rglob("*.Array1-01.wav"))
    transcribe = [sys.executable, "-m", "reslstm.cli.transcribe", str(layout.run.path), str(wav)]
    out = subprocess.run(transcribe, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.strip().splitlines()
    assert line.startswith(f"{wav}\t") and set(line.split("\t")[1].split()) <= lexicon
    layout.lang.bpe_model.write_bytes(b"not a model")
    out = subprocess.run(transcribe, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 2 and out.stdout == ""
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {layout.lang.bpe_model}: not a sentencepiece model; redo stage 2 "
                      "(tokens) with force=true"]  # fmt: skip
    assert "Traceback" not in out.stderr


@pytest.fixture(scope="module")
def dev_wavs(recipe: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Each dev segment's audio as a WAV file of its own (named by its cut id)."""
    import soundfile
    from lhotse import CutSet

    tmp = tmp_path_factory.mktemp("dev_wavs")
    cuts = CutSet.from_file(recipe / "data" / "manifests" / "mini_tiny_sdm" / "cuts_dev.jsonl.gz")
    wavs = []
    for cut in cuts:
        wavs.append(str(tmp / f"{cut.id}.wav"))
        soundfile.write(wavs[-1], cut.load_audio()[0], cut.sampling_rate)
    return wavs


def transcribe_wavs(source: Path, wavs: list[str], method: str, cwd: Path) -> str:
    """``reslstm-transcribe source wavs… --method method`` run in ``cwd``: its stdout."""
    cmd = [sys.executable, "-m", "reslstm.cli.transcribe", str(source), *wavs]
    out = subprocess.run([*cmd, "--method", method], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def run_words(recipe: Path, dev_wavs: list[str]) -> dict[str, str]:
    """What residual_lstm_L3 transcribes of the dev segments from the recipe root, by method."""
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L3"
    return {m: transcribe_wavs(run, dev_wavs, m, ROOT) for m in ("greedy", "beam_lm")}


def stage4_lines(recipe: Path, wavs: list[str], method: str) -> list[str]:
    """Stage 4's dev hypotheses of residual_lstm_L3 as reslstm-transcribe prints them."""
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L3"
    stage4 = (run / "decode" / f"dev_{method}" / "hyps.tsv").read_text().splitlines()
    hyps = dict(line.split("\t") for line in stage4)
    return [f"{wav}\t{hyps[Path(wav).stem]}" for wav in wavs]


@pytest.fixture(scope="module")
def exported(recipe: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``reslstm-export`` of residual_lstm_L3 (its best checkpoint) into a directory of its own."""
    model = tmp_path_factory.mktemp("exported") / "model"
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L3"
    export = [sys.executable, "-m", "reslstm.cli.export", str(run), str(model)]
    out = subprocess.run(export, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return model


def test_an_exported_model_transcribes_like_its_run_with_the_recipe_gone(
    recipe: Path, exported: Path, tmp_path: Path, dev_wavs: list[str], run_words: dict[str, str]
) -> None:
    """reslstm-transcribe from the recipe root gives exactly stage 4's greedy hypotheses of
    each dev segment (it decodes the features of the audio, ``decode.features=audio``); then
    reslstm-export, and reslstm-transcribe from another directory while the recipe's data/ and
    exp/ are moved away: the words the run itself gives, both methods."""
    assert run_words["greedy"].splitlines() == stage4_lines(recipe, dev_wavs, "greedy")
    assert any(line.split("\t")[1] for line in run_words["greedy"].splitlines())
    model = exported
    assert {p.name for p in model.iterdir()} >= {"model.safetensors", "model.json", "README.md"}
    away = tmp_path / "away"
    away.mkdir()
    for name in ("data", "exp"):
        (recipe / name).rename(away / name)
    try:
        for method, words in run_words.items():
            assert transcribe_wavs(model, dev_wavs, method, tmp_path) == words, method
            assert len(words.splitlines()) == len(dev_wavs)
    finally:
        for name in ("data", "exp"):
            (away / name).rename(recipe / name)


@pytest.mark.beam_ties
def test_transcribe_gives_stage_4s_beam_lm_hypotheses(
    recipe: Path, dev_wavs: list[str], run_words: dict[str, str]
) -> None:
    """Beam + LM on one segment at a time (reslstm-transcribe) against stage 4's batches: the
    log-probabilities may differ in the last bit, and so may the words where two beams tie."""
    assert run_words["beam_lm"].splitlines() == stage4_lines(recipe, dev_wavs, "beam_lm")


def test_the_readme_examples_run(
    recipe: Path,
    exported: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's Python examples (transcribe, then stream), as written, against a model
    exported to ``models/residual10`` and a meeting's audio as ``a.wav`` and as ``chunks``:
    each prints word, start and end, and the stream's words are the file's greedy words."""
    import soundfile

    shutil.copytree(exported, tmp_path / "models" / "residual10")
    wav = a_wav(recipe)
    (tmp_path / "a.wav").symlink_to(wav)
    samples, _ = soundfile.read(wav, dtype="float32")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "Transcriber" in b]
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {"chunks": [samples[i : i + 1600] for i in range(0, len(samples), 1600)]}
    printed = []
    for block in blocks:
        exec(textwrap.dedent(block), namespace)
        printed.append([line.split() for line in capsys.readouterr().out.splitlines()])
    assert printed[0] and all(len(fields) == 3 for fields in printed[0])
    greedy = namespace["Transcriber"].from_dir("models/residual10", method="greedy")
    streamed = [w[0] for w in printed[1]] + [w.word for w in namespace["last_words"]]
    assert streamed == [w.word for w in greedy.transcribe("a.wav")]


def test_a_broken_model_directory_is_one_line(recipe: Path, exported: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(exported, model)
    wav = a_wav(recipe)
    transcribe = [sys.executable, "-m", "reslstm.cli.transcribe", str(model), str(wav)]
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # a corrupt file
    out = subprocess.run(transcribe, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "model.safetensors: not loadable" in out.stderr
    weights.unlink()  # a missing file
    out = subprocess.run(transcribe, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "is missing model.safetensors" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
