"""The paired bootstrap (results/bootstrap.py) and the three-valued verdicts (results/claims.py)
on hand-made cases whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reslstm.errors import ReslstmError
from reslstm.results.bootstrap import (
    Segment,
    aligned_errors,
    bootstrap_wers,
    percentile_interval,
    read_per_utt,
)
from reslstm.results.claims import (
    FAILS,
    HOLDS,
    PAPER_TABLE1,
    UNSURE,
    Condition,
    check_claims,
    rel_change,
)


def test_a_system_with_twice_the_errors_everywhere_is_exactly_100_percent_worse() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(1, 20, size=300)
    base = rng.integers(0, 5, size=300)
    draws = bootstrap_wers({"a": 2 * base, "b": base}, ref, samples=2000, seed=1)
    change = rel_change("a", "b")(draws.draws)
    assert np.allclose(change, 100.0)  # the ratio is the same in every draw
    assert draws.point["a"] == pytest.approx(200.0 * base.sum() / ref.sum())
    same = bootstrap_wers({"a": base, "b": base}, ref, samples=500, seed=1)
    assert percentile_interval(rel_change("a", "b")(same.draws), 95.0) == (0.0, 0.0)


def test_one_word_segments_give_the_binomial_standard_error() -> None:
    """n one-word segments, a share p of them wrong: the WER of a draw is a binomial
    proportion, whose standard deviation is sqrt(p (1 - p) / n)."""
    n, p = 400, 0.3
    errors = np.zeros(n)
    errors[: int(p * n)] = 1
    draws = bootstrap_wers({"a": errors}, np.ones(n), samples=5000, seed=7).draws["a"] / 100
    assert draws.mean() == pytest.approx(p, abs=0.003)
    assert draws.std() == pytest.approx(np.sqrt(p * (1 - p) / n), rel=0.05)
    low, high = percentile_interval(100 * draws, 95.0)
    half = 1.96 * 100 * np.sqrt(p * (1 - p) / n)  # the normal approximation: ±4.5 points
    assert low == pytest.approx(30.0 - half, abs=0.6) and high == pytest.approx(
        30.0 + half, abs=0.6
    )


def test_the_draws_are_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(3)
    ref = rng.integers(1, 10, size=50)
    errors = {k: rng.integers(0, 4, size=(3, 50)) for k in "ab"}
    one = bootstrap_wers(errors, ref, samples=1100, seed=5)  # more than one chunk of draws
    two = bootstrap_wers(errors, ref, samples=1100, seed=5)
    other = bootstrap_wers(errors, ref, samples=1100, seed=6)
    assert all(np.array_equal(one.draws[k], two.draws[k]) for k in "ab")
    assert not np.array_equal(one.draws["a"], other.draws["a"])
    assert (one.num_seeds, one.num_segments) == (3, 50)


def test_seeds_pool_their_errors_and_widen_the_interval() -> None:
    n = 200
    ref = np.ones(n)
    a = np.zeros((2, n))
    a[0, :40] = 1  # seed 1: 20 % WER
    a[1, :80] = 1  # seed 2: 40 % WER
    pooled = bootstrap_wers({"a": a}, ref, samples=4000, seed=0)
    assert pooled.point["a"] == pytest.approx(30.0)
    single = bootstrap_wers({"a": a[:1]}, ref, samples=4000, seed=0)
    assert np.ptp(percentile_interval(pooled.draws["a"], 95)) > 2 * np.ptp(
        percentile_interval(single.draws["a"], 95)
    )


@pytest.mark.parametrize(
    ("above", "threshold", "low", "high", "verdict"),
    [
        (True, 0.0, 0.1, 5.0, HOLDS),  # worse with confidence
        (True, 0.0, 0.0, 5.0, UNSURE),  # the interval touches the threshold
        (True, 0.0, -2.0, 3.0, UNSURE),
        (True, 0.0, -3.0, 0.0, FAILS),  # not worse with confidence
        (False, 0.0, -4.0, 0.0, HOLDS),  # no worse: the whole interval is <= 0
        (False, 0.0, -4.0, 0.01, UNSURE),
        (False, 0.0, 0.01, 2.0, FAILS),
        (False, 10.0, 2.0, 10.0, HOLDS),  # baselines within 10 %
        (False, 10.0, 9.0, 11.0, UNSURE),
        (False, 10.0, 10.0, 12.0, UNSURE),
        (False, 10.0, 10.5, 12.0, FAILS),
    ],
)
def test_three_valued_verdicts_at_their_boundaries(
    above: bool, threshold: float, low: float, high: float, verdict: str
) -> None:
    condition = Condition("x", lambda w: w["x"], above=above, threshold=threshold)
    assert condition.verdict(low, high) == verdict


def _draws_around(wers: dict, noise: float, samples: int = 2000) -> dict:
    rng = np.random.default_rng(11)
    return {c: v * (1 + noise * rng.standard_normal(samples)) for c, v in wers.items()}


def test_claims_get_intervals_and_verdicts_from_draws() -> None:
    wer = {cell: non_over for cell, (_, non_over) in PAPER_TABLE1.items()}
    params = {(m, n): n * {"plain_lstm": 4.7, "highway_lstm": 5.3}.get(m, 4.2) for m, n in wer}
    tight = check_claims(wer, params, draws=_draws_around(wer, 0.001))
    assert [c.mark for c in tight] == [HOLDS] * 8
    assert tight[0].interval.startswith("plain 10 vs 3: [+13.")
    loose = check_claims(wer, params, draws=_draws_around(wer, 0.05))
    assert [c.holds for c in loose] == [True] * 8  # the point estimates are the paper's
    assert loose[2].mark == UNSURE  # residual 5 vs 3: -1.2 % inside a ±10 % interval
    assert loose[7].mark == HOLDS and loose[7].interval == ""  # parameter counts are exact
    no_draws = check_claims(wer, params)
    assert [c.verdict for c in no_draws] == [None] * 8 and no_draws[0].mark == HOLDS


def write_per_utt(path: Path, rows: list[tuple[str, int, int, str, str]]) -> Path:
    """rows: (id, ref_words, errors, note, overlapped)."""
    lines = ["id\tref_words\terrors\tsub\tdel\tins\tnote\toverlapped\tref\thyp"]
    lines += [f"{i}\t{r}\t{e}\t{e}\t0\t0\t{note}\t{o}\tREF\tHYP" for i, r, e, note, o in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_per_utt_rows_align_across_systems_and_subsets(tmp_path: Path) -> None:
    a = read_per_utt(
        write_per_utt(
            tmp_path / "a.tsv",
            [("u1", 4, 1, "", "1"), ("u2", 5, 2, "", "0"), ("u3", 0, 1, "empty_ref", "0")],
        )
    )
    b = read_per_utt(
        write_per_utt(tmp_path / "b.tsv", [("u2", 5, 0, "", "0"), ("u1", 4, 3, "", "1")])
    )
    assert set(a) == {"u1", "u2"} and a["u1"] == Segment(
        4, 1, True, "REF", "HYP"
    )  # empty refs are not scored
    errors, ref = aligned_errors({"A": [a], "B": [b]})
    assert ref.tolist() == [4, 5] and errors["A"].tolist() == [[1, 2]]
    errors, ref = aligned_errors({"A": [a], "B": [b]}, overlapped=False)
    assert ref.tolist() == [5] and errors["B"].tolist() == [[0]]


def test_a_malformed_per_utt_file_gets_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "per_utt.tsv"
    bad.write_text("id\tref_words\terrors\nu1\tfour\t1\n")
    with pytest.raises(ReslstmError, match=r"per_utt.tsv:2: malformed row"):
        read_per_utt(bad)
    bad.write_text("utt\twords\n")
    with pytest.raises(ReslstmError, match="lacks id / ref_words / errors"):
        read_per_utt(bad)
