"""Paired bootstrap over segments, and over seeds, for the WERs the claims compare.

Bisani & Ney, "Bootstrap estimates for confidence intervals in ASR performance evaluation",
ICASSP 2004: draw the evaluation segments with replacement, jointly for every system compared
(the systems stay paired on the same segments), recompute each system's WER as its summed word
errors over the summed reference words of the draw, and read a statistic's interval from its
values over the draws.

With several seeds the seed is a second random factor (a two-level bootstrap): each draw also
draws seeds with replacement, the same seed draw for every system (seed k of each model shares
its data order and initial random state), and a system's WER pools its errors over the drawn
seeds. With one seed it is the plain paired bootstrap over segments.

Every function is deterministic for a given ``seed``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reslstm.errors import ReslstmError

CHUNK = 512  # draws computed at a time: bounds the (draws x segments) count matrix in memory


@dataclass(frozen=True)
class Segment:
    """One row of a decode's ``per_utt.tsv`` (scoring/report.py)."""

    ref_words: int
    errors: int
    overlapped: bool | None  # None: the scorer did not know
    ref: str = ""  # the normalised reference and hypothesis, as scored
    hyp: str = ""


def read_per_utt(path: Path) -> dict[str, Segment]:
    """The scored segments of a ``per_utt.tsv`` by cut id (those with an empty reference are
    not in the WER, so not here either); a bad file gets one line naming it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ReslstmError(f"cannot read {path}: {e.strerror or e}") from e
    if not lines:
        raise ReslstmError(f"{path}: empty, expected a header line")
    header = lines[0].split("\t")
    try:
        col = {name: header.index(name) for name in ("id", "ref_words", "errors")}
    except ValueError as e:
        raise ReslstmError(f"{path}: header {header[:4]} lacks id / ref_words / errors") from e
    over = header.index("overlapped") if "overlapped" in header else None
    note = header.index("note") if "note" in header else None
    ref, hyp = (header.index(k) if k in header else None for k in ("ref", "hyp"))
    rows: dict[str, Segment] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        try:
            if note is not None and "empty_ref" in fields[note].split(","):
                continue
            flag = fields[over] if over is not None else ""
            rows[fields[col["id"]]] = Segment(
                int(fields[col["ref_words"]]),
                int(fields[col["errors"]]),
                None if flag == "" else flag == "1",
                fields[ref] if ref is not None else "",
                fields[hyp] if hyp is not None and hyp < len(fields) else "",
            )
        except (IndexError, ValueError) as e:
            raise ReslstmError(f"{path}:{number}: malformed row ({e})") from e
    return rows


@dataclass(frozen=True)
class Draws:
    """Each system's WER (%) as observed (``point``) and in each bootstrap draw (``draws``)."""

    point: dict[Hashable, float]
    draws: dict[Hashable, np.ndarray]  # shape (samples,)
    num_segments: int
    num_seeds: int


def bootstrap_wers(
    errors: Mapping[Hashable, np.ndarray],
    ref_words: np.ndarray,
    samples: int,
    seed: int,
) -> Draws:
    """Bootstrap the WER of every system in ``errors`` (each an array of word errors, seeds x
    segments, all on the segments whose reference lengths are ``ref_words``).

    Each draw takes as many segments as there are, with replacement, and as many seeds, with
    replacement, both shared by every system; a system's WER in a draw is 100 x its errors over
    the reference words, summed over the drawn segments of the drawn seeds.
    """
    ref = np.asarray(ref_words, dtype=np.float64)
    mats = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in errors.items()}
    if not mats:
        raise ValueError("no systems to bootstrap")
    shapes = {m.shape for m in mats.values()}
    if len(shapes) != 1 or next(iter(shapes))[1] != ref.shape[0]:
        raise ValueError(f"error arrays {sorted(shapes)} do not match {ref.shape[0]} segments")
    num_seeds, n = next(iter(shapes))
    if n == 0 or ref.sum() <= 0:
        raise ValueError("no reference words to bootstrap")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    rng = np.random.default_rng(seed)
    draws = {k: np.empty(samples) for k in mats}
    for start in range(0, samples, CHUNK):
        size = min(CHUNK, samples - start)
        segment_counts = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        seed_counts = (
            rng.multinomial(num_seeds, np.full(num_seeds, 1.0 / num_seeds), size=size)
            if num_seeds > 1
            else np.ones((size, 1))
        ).astype(np.float64)
        words = num_seeds * (segment_counts @ ref)  # (size,)
        for key, mat in mats.items():
            per_segment = seed_counts @ mat  # (size, n): errors pooled over the drawn seeds
            draws[key][start : start + size] = (
                100.0 * (per_segment * segment_counts).sum(axis=1) / words
            )
    point = {k: float(100.0 * m.sum() / (num_seeds * ref.sum())) for k, m in mats.items()}
    return Draws(point, draws, n, num_seeds)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` % percentile interval of ``values``."""
    tail = (100.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def aligned_errors(
    systems: Mapping[Hashable, Sequence[Mapping[str, Segment]]],
    overlapped: bool | None = None,
) -> tuple[dict[Hashable, np.ndarray], np.ndarray]:
    """Per-system error arrays (seeds x segments) and reference lengths on the segments every
    system and seed has; ``overlapped`` True / False keeps only the overlapped /
    non-overlapped ones (segments without the flag are then dropped), ``None`` keeps all.

    Each system maps to its seeds' ``per_utt.tsv`` rows (:func:`read_per_utt`), in the same
    seed order for every system.
    """
    tables = [t for seeds in systems.values() for t in seeds]
    if not tables:
        return {}, np.zeros(0)
    ids = sorted(set.intersection(*(set(t) for t in tables)))
    first = tables[0]
    if overlapped is not None:
        ids = [i for i in ids if first[i].overlapped is overlapped]
    ref = np.array([first[i].ref_words for i in ids], dtype=np.float64)
    errors = {
        key: np.array([[t[i].errors for i in ids] for t in seeds], dtype=np.float64)
        for key, seeds in systems.items()
    }
    return errors, ref
