"""asclite (NIST SCTK) and meeteval against jiwer and hand counts on small made-up STM/CTM."""

from __future__ import annotations

from pathlib import Path

import pytest

from reslstm.errors import ReslstmError
from reslstm.scoring import meeting, score
from reslstm.scoring.meeting import (
    HypWord,
    asclite,
    ctm_text,
    meeteval_scores,
    read_ctm,
    read_stm,
    seglst_json,
    stm_text,
)
from reslstm.scoring.overlap import Segment

REFS = [
    Segment("s1", "ES2011a", "A", 0.0, 2.0, "THE CAT SAT"),
    Segment("s2", "ES2011a", "B", 3.0, 5.0, "ON THE MAT"),
    Segment("s3", "ES2011a", "A", 6.0, 7.0, "YES"),
]


def timed(words: str, start: float, speaker: str, step: float = 0.5) -> list[HypWord]:
    """Words of one segment, ``step`` seconds apart (inside the segment)."""
    return [
        HypWord("ES2011a", start + i * step, 0.3, w, speaker) for i, w in enumerate(words.split())
    ]


def files(tmp: Path, refs: list[Segment], words: list[HypWord]) -> tuple[Path, Path, Path]:
    stm, ctm, seglst = tmp / "dev.stm", tmp / "hyp.ctm", tmp / "hyp.seglst.json"
    stm.write_text(stm_text(refs))
    ctm.write_text(ctm_text(words))
    seglst.write_text(seglst_json(words))
    return stm, ctm, seglst


def all_wers(tmp: Path, refs: list[Segment], words: list[HypWord]) -> dict[str, float]:
    stm, ctm, seglst = files(tmp, refs, words)
    me = meeteval_scores(stm, seglst, ctm, collar=0.5)
    return {
        "asclite": asclite(stm, ctm)["wer"],
        "cpwer": me["cpwer"]["wer"],
        "tcorc": me["tcorc"]["wer"],
    }


def test_no_overlap_perfect_timing_all_methods_agree_with_a_hand_count(tmp_path: Path) -> None:
    hyp = {"a": "THE BAT SAT", "b": "ON THE MAT MAT", "c": ""}  # 1 sub, 1 ins, 1 del
    words = timed(hyp["a"], 0.2, "A") + timed(hyp["b"], 3.1, "B", 0.4)
    hand = 100.0 * 3 / 7
    jiwer = score(dict(zip("abc", (r.text for r in REFS), strict=True)), hyp).wer
    assert jiwer == pytest.approx(hand)
    expected = dict.fromkeys(("asclite", "cpwer", "tcorc"), hand)
    assert all_wers(tmp_path, REFS, words) == pytest.approx(expected)


def test_a_word_outside_every_segment_is_an_insertion(tmp_path: Path) -> None:
    refs = REFS[:2]
    words = timed("THE CAT SAT", 0.2, "A") + timed("ON THE MAT", 3.1, "B", 0.3)
    words.append(HypWord("ES2011a", 2.4, 0.3, "HELLO", "A"))  # in the gap between segments
    stm, ctm, seglst = files(tmp_path, refs, words)
    result = asclite(stm, ctm)
    assert (result["ins"], result["errors"], result["num_words"]) == (1, 1, 6)
    me = meeteval_scores(stm, seglst, ctm, collar=0.5)
    assert me["tcorc"]["ins"] == me["cpwer"]["ins"] == 1
    assert me["tcorc"]["errors"] == me["cpwer"]["errors"] == 1
    # With a third segment after the gap, asclite 2.4.10 (Debian's sctk) no longer creates the
    # inter-segment gap and drops the word; meeteval still counts it (docs/scoring.md).
    words += timed("YES", 6.2, "A")
    stm, ctm, seglst = files(tmp_path, REFS, words)
    assert meeteval_scores(stm, seglst, ctm, collar=0.5)["tcorc"]["ins"] == 1


def test_an_overlapped_region_is_scored_against_the_right_speaker(tmp_path: Path) -> None:
    refs = [
        Segment("s4", "ES2011a", "A", 0.0, 3.0, "ONE TWO THREE FOUR"),
        Segment("s5", "ES2011a", "B", 1.0, 2.5, "YES INDEED"),  # inside A's segment
    ]
    # both speakers recognised perfectly, B's words in time between A's
    words = [
        HypWord("ES2011a", 0.1, 0.3, "ONE", "A"),
        HypWord("ES2011a", 0.6, 0.3, "TWO", "A"),
        HypWord("ES2011a", 1.2, 0.3, "YES", "B"),
        HypWord("ES2011a", 1.6, 0.3, "INDEED", "B"),
        HypWord("ES2011a", 2.0, 0.3, "THREE", "A"),
        HypWord("ES2011a", 2.5, 0.3, "FOUR", "A"),
    ]
    wers = all_wers(tmp_path, refs, words)
    assert wers == pytest.approx({"asclite": 0.0, "cpwer": 0.0, "tcorc": 0.0})
    # swap the speakers of B's words: cpWER counts it, the speaker-blind scorers do not
    swapped = [HypWord(w.recording, w.start, w.duration, w.word, "A") for w in words]
    assert all_wers(tmp_path, refs, swapped)["cpwer"] > 0.0


def test_hesitations_are_dropped_on_both_sides() -> None:
    assert stm_text([Segment("s6", "R", "A", 0.0, 1.0, "UM YES UH")]) == "R 1 A 0.00 1.00 YES\n"
    assert ctm_text([HypWord("R", 0.1, 0.2, "UM"), HypWord("R", 0.3, 0.2, "YES")]) == (
        "R 1 0.30 0.20 YES\n"
    )


def test_a_missing_asclite_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stm, ctm, _ = files(tmp_path, REFS, timed("THE CAT", 0.2, "A"))
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(meeting, "SCTK_DIRS", ())
    with pytest.raises(ReslstmError, match="asclite not found.*apt-get install sctk") as e:
        asclite(stm, ctm)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("name", "line", "error"),
    [
        ("bad.ctm", "ES2011a 1 0.10 HELLO", r"bad.ctm:1: malformed CTM line"),
        ("bad.ctm", "ES2011a 1 zero 0.3 HELLO", "is not a time in seconds"),
        ("bad.stm", "ES2011a 1 A 2.0", r"bad.stm:1: malformed STM line"),
        ("bad.stm", "ES2011a 1 A 2.0 1.0 HELLO", "ends before it starts"),
    ],
)
def test_malformed_ctm_and_stm_lines_fail_with_one_line(
    tmp_path: Path, name: str, line: str, error: str
) -> None:
    path = tmp_path / name
    path.write_text(line + "\n")
    with pytest.raises(ReslstmError, match=error) as e:
        (read_ctm if name.endswith(".ctm") else read_stm)(path)
    assert "\n" not in str(e.value)


def test_an_empty_hypothesis_is_all_deletions(tmp_path: Path) -> None:
    stm, ctm, seglst = files(tmp_path, REFS, [])
    assert ctm.read_text() == ""
    result = asclite(stm, ctm)
    assert (result["wer"], result["del"], result["num_words"]) == (100.0, 7, 7)
    me = meeteval_scores(stm, seglst, ctm, collar=0.5)
    assert me["tcorc"]["wer"] == me["cpwer"]["wer"] == 100.0
