"""WER/CER with jiwer, AMI normalisation, empty references, missing hypotheses, report files."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from reslstm.layout import DecodeDir
from reslstm.scoring import normalize, score, write_reports
from reslstm.scoring.methods import SCORING_METHODS, ScoreInputs
from reslstm.scoring.report import summary_json


def test_normalize_is_lhotse_kaldi_ami() -> None:
    assert normalize("Mm hmm, o k. Uh huh -- it's 2 (two)!") == "MM-HMM OK UH-HUH IT'S 2 TWO"
    assert normalize("  Hello,  world ", "upper") == "HELLO, WORLD"
    assert normalize("...") == ""
    with pytest.raises(ValueError, match="normalisation"):
        normalize("x", "lower")


def test_word_errors_and_confusions() -> None:
    refs = {"u1": "the cat sat on the mat", "u2": "a b c d"}
    hyps = {"u1": "the cat sat on on a mat", "u2": "a x c"}
    s = score(refs, hyps)
    # u1: "on" inserted, "the" -> "a"; u2: "b" -> "x", "d" deleted.
    assert (s.words.ref_len, s.words.sub, s.words.dels, s.words.ins) == (10, 2, 1, 1)
    assert s.wer == pytest.approx(40.0)
    assert s.sub_pairs == {("THE", "A"): 1, ("B", "X"): 1}
    assert s.deleted_words == {"D": 1} and s.inserted_words == {"ON": 1}
    assert [(u.id, u.words.errors, u.words.ref_len) for u in s.utts] == [("u1", 2, 6), ("u2", 2, 4)]


def test_character_error_rate_counts_spaces() -> None:
    s = score({"u": "ab cd"}, {"u": "ab ce"}, normalization="none")
    assert (s.chars.ref_len, s.chars.sub, s.chars.errors) == (5, 1, 1)
    assert s.cer == pytest.approx(20.0)
    s = score({"u": "ab cd"}, {"u": "abcd"}, normalization="none")
    assert (s.chars.dels, s.chars.errors) == (1, 1) and s.wer == pytest.approx(100.0)


def test_empty_references_are_counted_not_scored() -> None:
    s = score({"e1": "...", "e2": "", "u": "yes"}, {"e1": "uh", "e2": "", "u": "yes"})
    assert s.empty_refs == 2 and s.num_utts == 3
    assert s.words.ref_len == 1 and s.words.errors == 0 and s.wer == 0.0
    assert [u.note for u in s.utts] == ["empty_ref", "empty_ref", ""]
    assert s.utts[0].words.ins == 1  # shown per utterance, not in the totals
    only_empty = score({"e": ""}, {"e": "hello"})
    assert only_empty.wer is None and only_empty.cer is None and only_empty.empty_refs == 1


def test_missing_and_extra_hypotheses() -> None:
    s = score({"u1": "one two", "u2": "three four five"}, {"u1": "one two", "zz": "stray"})
    assert s.missing_hyps == 1 and s.extra_hyps == 1
    assert (s.words.dels, s.words.ref_len) == (3, 5) and s.wer == pytest.approx(60.0)
    assert s.utts[1].note == "missing_hyp" and s.deleted_words == {"THREE": 1, "FOUR": 1, "FIVE": 1}


def test_write_reports(tmp_path: Path) -> None:
    refs = {"u1": "the cat sat", "u2": "hello world", "e": "--"}
    s = score(refs, {"u1": "the bat sat down", "e": "um"})
    out = tmp_path / "dev_greedy"
    out.mkdir()
    write_reports(s, out)
    assert (out / "wer").read_text() == (
        "%WER 80.00 [ 4 / 5, 1 ins, 2 del, 1 sub ] %CER 77.27 [ 17 / 22, 5 ins, 11 del, 1 sub ]\n"
    )
    summary = summary_json(s)
    assert summary["wer"] == pytest.approx(80.0) and summary["num_words"] == 5
    assert (summary["empty_refs"], summary["missing_hyps"], summary["num_utts"]) == (1, 1, 3)
    rows = (out / "per_utt.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:3] == ["id", "ref_words", "errors"]
    assert rows[2].split("\t") == [
        "u1",
        "3",
        "2",
        "1",
        "0",
        "1",
        "",
        "",
        "THE CAT SAT",
        "THE BAT SAT DOWN",
    ]
    errors = (out / "errors.txt").read_text()
    assert "CAT -> BAT" in errors and "DOWN" in errors and "HELLO" in errors


def test_jiwer_scores_all_segments_and_the_overlap_subsets(tmp_path: Path) -> None:
    refs = {"o1": "a b", "n1": "c d e", "n2": "f"}
    hyps = {"o1": "a x", "n1": "c d e", "n2": ""}
    flags = {"o1": True, "n1": False, "n2": False}
    config = OmegaConf.create({"normalization": "kaldi"})
    inputs = ScoreInputs(refs, hyps, tmp_path / "dev.stm", DecodeDir(tmp_path), flags, config)
    summary = SCORING_METHODS["jiwer"].score(inputs)
    assert summary["wer"] == pytest.approx(100 * 2 / 6)
    assert summary["overlapped"]["wer"] == pytest.approx(50.0)
    assert summary["non_overlapped"]["wer"] == pytest.approx(25.0)
    assert summary["overlapped"]["num_utts"] + summary["non_overlapped"]["num_utts"] == 3
    rows = [r.split("\t") for r in (tmp_path / "per_utt.tsv").read_text().splitlines()[1:]]
    assert {r[0]: r[7] for r in rows} == {"n1": "0", "n2": "0", "o1": "1"}
