"""The whole recipe through run.sh on the tiny corpus (stages 0-6), then reruns and transcribe."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_sh

pytestmark = pytest.mark.slow


def smoke_run(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """``./run.sh args… experiment=smoke`` with data and experiments under ``tmp``."""
    paths = [f"paths.data_dir={tmp}/data", f"paths.exp_dir={tmp}/exp"]
    out = run_sh(*args, "experiment=smoke", *paths, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("recipe")
    smoke_run(tmp, "--layers", "1 2", "--jobs", "2")
    return tmp


def test_all_stages_produce_the_table(recipe: Path) -> None:
    corpus = recipe / "exp" / "mini_tiny_sdm"
    results = (corpus / "RESULTS.md").read_text()
    for model in ("plain_lstm", "highway_lstm", "residual_lstm"):
        for layers in (1, 2):
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
        assert f"| {model} | 2 |" in results
    assert "## The paper's claims, checked" in results
    assert "### Scoring methods compared" in results
    assert (corpus / "wer_by_depth.png").stat().st_size > 0
    assert (corpus / "dev_loss.png").stat().st_size > 0


def test_rerun_of_finished_stages_does_no_work(recipe: Path) -> None:
    out = smoke_run(recipe, "--stage", "0", "--stop-stage", "4", "--layers", "1")
    log = out.stdout + out.stderr
    assert "nothing to do" in log and "fbank train:" not in log
    assert "epoch 1 done" not in log  # training already finished: resumed at its end


def test_transcribe_prints_one_line_per_file(recipe: Path) -> None:
    wav = next((recipe / "data" / "corpora").rglob("*.Array1-01.wav"))
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L2"
    out = subprocess.run(
        [sys.executable, "-m", "reslstm.cli.transcribe", str(run), str(wav), "--method", "greedy"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{wav}\t")


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
    wav = next((recipe / "data" / "corpora").rglob("*.Array1-01.wav"))
    run = recipe / "exp" / "mini_tiny_sdm" / "highway_lstm_L2"
    whole = transcribe_cli(str(run), str(wav), "--method", "greedy", "--ctm", f"{tmp_path}/w.ctm")
    assert whole.returncode == 0, whole.stderr
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
    wav = next((recipe / "data" / "corpora").rglob("*.Array1-01.wav"))
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L2"
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
    """What residual_lstm_L2 transcribes of the dev segments from the recipe root, by method."""
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L2"
    return {m: transcribe_wavs(run, dev_wavs, m, ROOT) for m in ("greedy", "beam_lm")}


def stage4_lines(recipe: Path, wavs: list[str], method: str) -> list[str]:
    """Stage 4's dev hypotheses of residual_lstm_L2 as reslstm-transcribe prints them."""
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L2"
    stage4 = (run / "decode" / f"dev_{method}" / "hyps.tsv").read_text().splitlines()
    hyps = dict(line.split("\t") for line in stage4)
    return [f"{wav}\t{hyps[Path(wav).stem]}" for wav in wavs]


def test_an_exported_model_transcribes_like_its_run_with_the_recipe_gone(
    recipe: Path, tmp_path: Path, dev_wavs: list[str], run_words: dict[str, str]
) -> None:
    """reslstm-transcribe from the recipe root gives exactly stage 4's greedy hypotheses of
    each dev segment (it decodes the features of the audio, ``decode.features=audio``); then
    reslstm-export, and reslstm-transcribe from another directory while the recipe's data/ and
    exp/ are moved away: the words the run itself gives, both methods."""
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L2"
    assert run_words["greedy"].splitlines() == stage4_lines(recipe, dev_wavs, "greedy")
    assert any(line.split("\t")[1] for line in run_words["greedy"].splitlines())
    model = tmp_path / "model"
    export = [sys.executable, "-m", "reslstm.cli.export", str(run), str(model)]
    out = subprocess.run(export, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
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
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's Python examples (transcribe, then stream), as written, against a model
    exported to ``models/residual10`` and a meeting's audio as ``a.wav`` and as ``chunks``:
    each prints word, start and end, and the stream's words are the file's greedy words."""
    import re

    import soundfile

    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L2"
    export = [sys.executable, "-m", "reslstm.cli.export", str(run), "models/residual10"]
    assert subprocess.run(export, capture_output=True, cwd=tmp_path).returncode == 0
    wav = next((recipe / "data" / "corpora").rglob("*.Array1-01.wav"))
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


def test_a_broken_model_directory_is_one_line(recipe: Path, tmp_path: Path) -> None:
    run = recipe / "exp" / "mini_tiny_sdm" / "residual_lstm_L1"
    model = tmp_path / "model"
    cmd = [sys.executable, "-m", "reslstm.cli.export", str(run), str(model)]
    assert subprocess.run(cmd, capture_output=True, cwd=ROOT).returncode == 0
    wav = next((recipe / "data" / "corpora").rglob("*.Array1-01.wav"))
    transcribe = [sys.executable, "-m", "reslstm.cli.transcribe", str(model), str(wav)]
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # a corrupt file
    out = subprocess.run(transcribe, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "model.safetensors: not loadable" in out.stderr
    weights.unlink()  # a missing file
    out = subprocess.run(transcribe, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "is missing model.safetensors" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
