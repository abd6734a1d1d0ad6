"""``reslstm-score --ref --hyp``: STM and CTM (or SegLST) files made by any tool, on a case
counted by hand: two overlapping speakers, 7 reference words, B's MAT deleted (1 error)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reslstm.errors import ReslstmError
from reslstm.scoring.files import score_files
from tests.helpers import ROOT

STM = """;; made by another tool: NIST labels, mixed case, a region not to score
ES2011a 1 A 0.00 3.00 <o,f0,male> One two three four
ES2011a 1 B 1.00 1.90 <o,f0,female> on the mat
ES2011a 1 A 5.00 6.00 IGNORE_TIME_SEGMENT_IN_SCORING
"""
WORDS = [  # (speaker, start, word); B speaks inside A's segment
    ("A", 0.1, "one"), ("A", 0.6, "two"), ("B", 1.1, "ON"), ("B", 1.5, "the"),
    ("A", 2.0, "three"), ("A", 2.5, "four"), ("A", 5.4, "noise"),  # noise: ignored region
]  # fmt: skip
HAND = 100 / 7


def write(tmp: Path, labels: bool = True) -> tuple[Path, Path, Path]:
    stm = tmp / ("labelled.stm" if labels else "plain.stm")
    text = STM if labels else STM.replace("<o,f0,male> ", "").replace("<o,f0,female> ", "")
    stm.write_text(text)
    ctm = tmp / "hyp.ctm"  # not sorted by time, with confidences
    rows = sorted(WORDS, key=lambda w: w[2])
    ctm.write_text("".join(f"ES2011a 1 {t:.2f} 0.30 {w} 0.9\n" for _, t, w in rows))
    seglst = tmp / "hyp.json"
    seglst.write_text(
        json.dumps(
            [
                {
                    "session_id": "ES2011a",
                    "speaker": s,
                    "start_time": t,
                    "end_time": t + 0.3,
                    "words": w,
                }
                for s, t, w in WORDS
            ]
        )  # fmt: skip
    )
    return stm, ctm, seglst


def test_labels_do_not_count_and_every_method_agrees_with_the_hand_count(tmp_path: Path) -> None:
    labelled, ctm, seglst = write(tmp_path)
    plain, _, _ = write(tmp_path, labels=False)
    with_speakers = score_files(labelled, seglst)
    assert with_speakers == score_files(plain, seglst)
    assert with_speakers["asclite"]["wer"] == pytest.approx(HAND)
    assert with_speakers["jiwer"]["wer"] == pytest.approx(HAND)
    assert with_speakers["meeteval"]["cpwer"]["wer"] == pytest.approx(HAND)
    assert with_speakers["meeteval"]["tcorc"]["wer"] == pytest.approx(HAND)
    from_ctm = score_files(labelled, ctm)
    assert from_ctm == score_files(plain, ctm)
    assert from_ctm["asclite"]["wer"] == from_ctm["jiwer"]["wer"] == pytest.approx(HAND)
    assert "cpwer" not in from_ctm["meeteval"]  # a CTM names no speakers: one stream


def test_the_command_prints_one_line_per_method_and_writes_json(tmp_path: Path) -> None:
    labelled, _, seglst = write(tmp_path)
    cmd = [sys.executable, "-m", "reslstm.cli.score", "--ref", str(labelled), "--hyp"]
    out = subprocess.run(
        [*cmd, str(seglst), "--json", str(tmp_path / "scores.json")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "%WER[asclite] 14.29 [ 1 / 7 ]" in out.stdout
    assert "%WER[meeteval_cpwer] 14.29 [ 1 / 7 ]" in out.stdout
    assert set(json.loads((tmp_path / "scores.json").read_text())) == {
        "asclite", "jiwer", "meeteval"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("ES2011a 1 1.10 0.30 ON\nES2011a 1 x 0.3 THE\n", r"hyp.ctm:2: .*floating point"),
        ("ES2011a 1 1.10\n", r"hyp.ctm:1: "),
    ],
)
def test_a_malformed_ctm_is_one_line_naming_file_and_line(
    tmp_path: Path, bad: str, message: str
) -> None:
    labelled, ctm, _ = write(tmp_path)
    ctm.write_text(bad)
    out = subprocess.run(
        [sys.executable, "-m", "reslstm.cli.score", "--ref", str(labelled), "--hyp", str(ctm),
         "--json", str(tmp_path / "scores.json")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("error: ") and re.search(message, out.stderr)
    assert not (tmp_path / "scores.json").exists()


def test_an_unknown_method_or_an_empty_reference_is_refused(tmp_path: Path) -> None:
    labelled, ctm, _ = write(tmp_path)
    with pytest.raises(ReslstmError, match="--methods: unknown 'sclite'"):
        score_files(labelled, ctm, ["jiwer", "sclite"])
    empty = tmp_path / "empty.stm"
    empty.write_text(";; nothing\n")
    with pytest.raises(ReslstmError, match="no reference segments"):
        score_files(empty, ctm)


def test_jiwer_says_why_it_differs_where_references_overlap(tmp_path: Path) -> None:
    """B's YES inside A's segment, every word right: asclite counts no error; jiwer gives TWO
    (in both segments) to B, the segment that started last, counts an insertion and a deletion,
    and says why. Apart in time, jiwer is exact and says nothing."""
    stm, ctm = tmp_path / "ref.stm", tmp_path / "hyp.ctm"
    words = [(0.2, "ONE"), (1.2, "TWO"), (1.6, "YES"), (2.5, "THREE")]
    ctm.write_text("".join(f"ES2011a 1 {t:.2f} 0.30 {w}\n" for t, w in words))
    stm.write_text("ES2011a 1 A 0.00 3.00 one two three\nES2011a 1 B 1.00 2.00 yes\n")
    cmd = [sys.executable, "-m", "reslstm.cli.score", "--ref", str(stm), "--hyp", str(ctm)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = dict(re.findall(r"^%WER\[(\w+)\] (.*)$", out.stdout, re.M))
    assert lines["asclite"] == "0.00 [ 0 / 4 ]"
    assert lines["jiwer"] == (
        "50.00 [ 2 / 4 ] (approximate: 2 of 2 reference segments overlap another speaker's, and "
        "the hypothesis names no speakers, so each word went to one segment by its time; "
        "asclite aligns overlapped speech)"
    )
    stm.write_text("ES2011a 1 A 0.00 3.00 one two yes three\nES2011a 1 B 4.00 5.00 yes\n")
    apart = score_files(stm, ctm)
    assert apart["jiwer"] == {"wer": 20.0, "num_words": 5, "errors": 1}  # B's YES deleted
    assert apart["asclite"]["wer"] == pytest.approx(20.0)
