"""Score reports on disk: per-utterance TSV, human-readable errors, a Kaldi-like line, and the
numbers of ``scores.json``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from reslstm.io import atomic_write_text
from reslstm.layout import DecodeDir
from reslstm.scoring.wer import ErrorCounts, Scores

TOP_CONFUSIONS = 30


def kaldi_line(name: str, counts: ErrorCounts) -> str:
    """``%WER 45.23 [ 1234 / 2730, 100 ins, 300 del, 834 sub ]`` (``nan`` without references)."""
    rate = "nan" if counts.rate is None else f"{counts.rate:.2f}"
    return (
        f"%{name} {rate} [ {counts.errors} / {counts.ref_len}, "
        f"{counts.ins} ins, {counts.dels} del, {counts.sub} sub ]"
    )


def summary_json(scores: Scores) -> dict[str, float | int | None]:
    """The numbers of ``scores.json``; ``wer``/``cer`` in percent (``null`` if undefined)."""
    return {
        "wer": scores.wer,
        "cer": scores.cer,
        "num_words": scores.words.ref_len,
        "num_chars": scores.chars.ref_len,
        "num_utts": scores.num_utts,
        "ins": scores.words.ins,
        "del": scores.words.dels,
        "sub": scores.words.sub,
        "char_ins": scores.chars.ins,
        "char_del": scores.chars.dels,
        "char_sub": scores.chars.sub,
        "empty_refs": scores.empty_refs,
        "missing_hyps": scores.missing_hyps,
        "extra_hyps": scores.extra_hyps,
    }


def per_utt_tsv(scores: Scores, overlapped: Mapping[str, bool] | None = None) -> str:
    """One row per reference utterance, sorted by id; ``overlapped`` is 1 or 0 where
    ``overlapped`` (cut id -> flag) knows the segment, empty otherwise. Stage 6's bootstrap
    resamples these rows (results/bootstrap.py)."""
    rows = ["id\tref_words\terrors\tsub\tdel\tins\tnote\toverlapped\tref\thyp"]
    flags = overlapped or {}
    for u in scores.utts:
        w, flag = u.words, flags.get(u.id)
        over = "" if flag is None else str(int(flag))
        rows.append(
            f"{u.id}\t{w.ref_len}\t{w.errors}\t{w.sub}\t{w.dels}\t{w.ins}\t{u.note}\t{over}"
            f"\t{u.ref}\t{u.hyp}"
        )
    return "\n".join(rows) + "\n"


def errors_text(scores: Scores, top: int = TOP_CONFUSIONS) -> str:
    """Summary and the most frequent substitutions, deletions and insertions."""
    lines = [
        kaldi_line("WER", scores.words),
        kaldi_line("CER", scores.chars),
        f"utterances: {scores.num_utts} ({scores.empty_refs} with an empty reference, not scored; "
        f"{scores.missing_hyps} without a hypothesis, scored as empty; "
        f"{scores.extra_hyps} hypotheses without a reference, ignored)",
        "",
        f"SUBSTITUTIONS (top {top}): count ref -> hyp",
        *(f"{n:6d}  {r} -> {h}" for (r, h), n in scores.sub_pairs.most_common(top)),
        "",
        f"DELETIONS (top {top}): count word",
        *(f"{n:6d}  {w}" for w, n in scores.deleted_words.most_common(top)),
        "",
        f"INSERTIONS (top {top}): count word",
        *(f"{n:6d}  {w}" for w, n in scores.inserted_words.most_common(top)),
    ]
    return "\n".join(lines) + "\n"


def write_reports(
    scores: Scores, out_dir: str | Path, overlapped: Mapping[str, bool] | None = None
) -> None:
    """Write ``per_utt.tsv`` (its rows marked by ``overlapped``, cut id -> flag),
    ``errors.txt`` and ``wer`` into ``out_dir``; ``scores.json`` is stage 5's, from every
    scoring method (scoring/methods.py)."""
    out = DecodeDir(Path(out_dir))
    atomic_write_text(out.per_utt, per_utt_tsv(scores, overlapped))
    atomic_write_text(out.errors, errors_text(scores))
    atomic_write_text(
        out.wer, f"{kaldi_line('WER', scores.words)} {kaldi_line('CER', scores.chars)}\n"
    )
