"""NIST sc_stats as a second opinion (results/significance.py), on hand-made systems whose
answer is known, with Debian's sctk (installed by scripts/setup_env.sh)."""

from __future__ import annotations

import pytest

from reslstm.results import significance
from reslstm.results.claims import TABLE1, TABLE2
from reslstm.results.significance import FIRST, SAME, SECOND, Texts, claim_pairs, sctk_tests
from reslstm.scoring import meeting

REF = "the cat sat on mats"
SPEAKERS = {f"m-{i:02d}": f"spk{i % 8}" for i in range(40)}  # 8 speakers, 5 segments each


def texts(hyp: str) -> Texts:
    return Texts({i: (REF, hyp) for i in SPEAKERS})


def test_a_system_with_more_errors_in_every_speaker_loses_every_test() -> None:
    one_error, two_errors = "the cat sad on mats", "the bat sad on mats"
    worse = Texts({i: (REF, [one_error, two_errors, REF][n % 3]) for n, i in enumerate(SPEAKERS)})
    better = Texts({i: (REF, one_error if n % 5 == 0 else REF) for n, i in enumerate(SPEAKERS)})
    assert sctk_tests(worse, better, SPEAKERS) == dict.fromkeys(significance.TESTS, SECOND)
    assert sctk_tests(better, worse, SPEAKERS) == dict.fromkeys(significance.TESTS, FIRST)


def test_identical_systems_do_not_differ() -> None:
    one = texts("the cat sad on mats")
    assert sctk_tests(one, one, SPEAKERS) == dict.fromkeys(significance.TESTS, SAME)


def test_without_sctk_the_tests_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(meeting, "SCTK_DIRS", ())
    assert sctk_tests(texts(REF), texts(REF), SPEAKERS) is None


def test_the_pairs_are_those_the_claims_compare() -> None:
    pairs = claim_pairs(TABLE1)
    assert pairs[:4] == [
        (("plain_lstm", 10), ("plain_lstm", 3)),
        (("highway_lstm", 10), ("highway_lstm", 3)),
        (("residual_lstm", 5), ("residual_lstm", 3)),
        (("residual_lstm", 10), ("residual_lstm", 3)),
    ]
    assert len(pairs) == len(set(pairs)) == 11  # + residual 10 vs the 7 others not yet listed
    assert all("plain_lstm" not in (a[0], b[0]) for a, b in claim_pairs(TABLE2))
