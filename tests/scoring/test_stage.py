"""Stage 5 in-process on a run made on the fly and decoded: jiwer on all segments and on the
overlapped / non-overlapped ones, the files, the printed lines."""

from __future__ import annotations

import json

import pytest
from omegaconf import DictConfig

from reslstm.decode.stage import decode_run
from reslstm.errors import ReslstmError
from reslstm.layout import Layout
from reslstm.scoring import meeting
from reslstm.scoring.stage import overlap_flags, score_run


def test_score_run_scores_all_and_the_overlap_subsets(
    made_run: DictConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    decode_run(made_run)
    score_run(made_run)
    run = Layout.of(made_run).run
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(line.startswith(f"{run.name} ") for line in lines)
    for split in ("dev", "test"):
        for method in ("greedy", "beam_lm"):
            out = run.decode(split, method)
            scores = json.loads(out.scores.read_text())
            assert scores["num_utts"] == 3
            assert scores["overlapped"]["num_utts"] == 2  # cuts 0 and 1 share 1.0-1.5 s
            assert scores["non_overlapped"]["num_utts"] == 1
            assert out.wer.read_text().startswith("%WER ")
            assert f"{run.name} {split} {method}: {out.wer.read_text().strip()}" in lines
            assert out.per_utt.is_file() and out.errors.is_file()
        stm = run.stm(split).read_text().splitlines()  # the references, as NIST STM
        assert len(stm) == 3 and all(line.split()[0].startswith("ES20") for line in stm)


def test_score_methods_means_what_it_says(made_run: DictConfig) -> None:
    """Only the methods named in score.methods run; an unknown one is one line."""
    decode_run(made_run)
    made_run.score.methods = ["asclite"]
    score_run(made_run)
    out = Layout.of(made_run).run.decode("dev", "greedy")
    assert set(json.loads(out.scores.read_text())) == {"asclite"}
    assert not out.per_utt.exists()  # jiwer did not run
    made_run.score.methods = ["jiwer", "sclite"]
    with pytest.raises(ReslstmError, match="score.methods: unknown method 'sclite'"):
        score_run(made_run)


def test_overlap_flags_follow_the_meetings_supervisions(made_run: DictConfig) -> None:
    manifests = Layout.of(made_run).manifests
    assert overlap_flags(manifests, "dev") == {
        "ES20dev-0": True,
        "ES20dev-1": True,
        "ES20dev-2": False,
    }


def test_nothing_decoded_is_one_line(made_run: DictConfig) -> None:
    with pytest.raises(ReslstmError, match=r"nothing to score in .*: run stage 4 \(decode\) first"):
        score_run(made_run)


def test_without_sctk_asclite_is_skipped_with_a_note_and_the_rest_scores(
    made_run: DictConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No root, no apt: stage 5 goes on without NIST SCTK, and says so in scores.json."""
    decode_run(made_run)
    monkeypatch.setenv("PATH", "/usr/bin/nonexistent")
    monkeypatch.setattr(meeting, "SCTK_DIRS", ())
    made_run.score.methods = ["jiwer", "asclite"]
    score_run(made_run)
    scores = json.loads(Layout.of(made_run).run.decode("dev", "greedy").scores.read_text())
    assert "sctk" in scores["asclite"]["skipped"] and scores["wer"] is not None
