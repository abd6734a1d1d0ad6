"""Word and character error rates of a set of utterances (jiwer alignments)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import jiwer

from reslstm.scoring.normalize import normalize


@dataclass
class ErrorCounts:
    """Edit operations against ``ref_len`` reference units (words or characters)."""

    ref_len: int = 0
    sub: int = 0
    dels: int = 0
    ins: int = 0

    @property
    def errors(self) -> int:
        return self.sub + self.dels + self.ins

    @property
    def rate(self) -> float | None:
        """Error rate in percent; ``None`` when there is no reference unit."""
        return 100.0 * self.errors / self.ref_len if self.ref_len else None

    def add(self, other: ErrorCounts) -> None:
        self.ref_len += other.ref_len
        self.sub += other.sub
        self.dels += other.dels
        self.ins += other.ins


@dataclass
class UttScore:
    """One utterance: its texts (normalised), word errors and why it is special, if it is."""

    id: str
    ref: str
    hyp: str
    words: ErrorCounts
    # Comma-separated: "empty_ref" (not in WER/CER), "missing_hyp" (scored as an empty hypothesis)
    note: str = ""


@dataclass
class Scores:
    """Corpus-level WER/CER, per-utterance rows and the most frequent word confusions."""

    words: ErrorCounts
    chars: ErrorCounts
    utts: list[UttScore]
    empty_refs: int = 0
    missing_hyps: int = 0
    extra_hyps: int = 0  # hypotheses whose id has no reference (ignored)
    sub_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    deleted_words: Counter[str] = field(default_factory=Counter)
    inserted_words: Counter[str] = field(default_factory=Counter)

    @property
    def wer(self) -> float | None:
        return self.words.rate

    @property
    def cer(self) -> float | None:
        return self.chars.rate

    @property
    def num_utts(self) -> int:
        """Reference utterances, empty ones included."""
        return len(self.utts)


def _counts(
    ref: list[str], hyp: list[str], alignment: list[jiwer.AlignmentChunk], scores: Scores | None
) -> ErrorCounts:
    """Error counts of one alignment; word confusions are added to ``scores`` when given."""
    counts = ErrorCounts(ref_len=len(ref))
    for chunk in alignment:
        refs = ref[chunk.ref_start_idx : chunk.ref_end_idx]
        hyps = hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type == "substitute":
            counts.sub += len(refs)
            if scores is not None:
                scores.sub_pairs.update(zip(refs, hyps, strict=True))
        elif chunk.type == "delete":
            counts.dels += len(refs)
            if scores is not None:
                scores.deleted_words.update(refs)
        elif chunk.type == "insert":
            counts.ins += len(hyps)
            if scores is not None:
                scores.inserted_words.update(hyps)
    return counts


def score(
    refs: Mapping[str, str], hyps: Mapping[str, str], *, normalization: str = "kaldi"
) -> Scores:
    """Score ``hyps`` against ``refs`` (both keyed by utterance id) after normalising both.

    Utterances with an empty (normalised) reference are listed and counted but excluded from
    WER and CER. A reference without a hypothesis is scored against an empty one (all
    deletions) and counted in ``missing_hyps``. CER counts spaces between words as characters.
    """
    scores = Scores(words=ErrorCounts(), chars=ErrorCounts(), utts=[])
    scores.extra_hyps = len(set(hyps) - set(refs))
    scored: list[UttScore] = []
    for utt_id in sorted(refs):
        ref = normalize(refs[utt_id], normalization)
        hyp = normalize(hyps.get(utt_id, ""), normalization)
        notes = []
        if not ref:
            notes.append("empty_ref")
            scores.empty_refs += 1
        if utt_id not in hyps:
            notes.append("missing_hyp")
            scores.missing_hyps += 1
        # Scored utterances get their counts from the batched alignment below.
        words = ErrorCounts(ins=len(hyp.split())) if not ref else ErrorCounts()
        utt = UttScore(id=utt_id, ref=ref, hyp=hyp, words=words, note=",".join(notes))
        scores.utts.append(utt)
        if ref:
            scored.append(utt)
    if not scored:
        return scores
    word_out = jiwer.process_words([u.ref for u in scored], [u.hyp for u in scored])
    char_out = jiwer.process_characters([u.ref for u in scored], [u.hyp for u in scored])
    for i, utt in enumerate(scored):
        utt.words = _counts(
            word_out.references[i], word_out.hypotheses[i], word_out.alignments[i], scores
        )
        scores.words.add(utt.words)
        chars = char_out.references[i], char_out.hypotheses[i], char_out.alignments[i]
        scores.chars.add(_counts(*chars, None))
    return scores
