"""Per-split statistics of the prepared cuts, and their table."""

from __future__ import annotations

from collections import Counter

from lhotse import CutSet

from reslstm.layout import SPLITS


def split_summary(cuts: CutSet, dropped: Counter, train_vocab: set[str] | None) -> dict:
    """Counts for one split; ``oov_rate`` is the share of word tokens unseen in train."""
    words = [w for cut in cuts for w in cut.supervisions[0].text.split()]
    vocab = set(words)
    oov = sum(w not in train_vocab for w in words) if train_vocab is not None else 0
    return {
        "recordings": len({cut.recording_id for cut in cuts}),
        "segments": len(cuts),
        "hours": round(sum(cut.duration for cut in cuts) / 3600, 3),
        "speakers": len({cut.supervisions[0].speaker for cut in cuts}),
        "words": len(words),
        "vocabulary": len(vocab),
        "oov_rate": round(oov / max(len(words), 1), 4),
        "dropped": dict(dropped),
    }


def format_table(summary: dict[str, dict]) -> str:
    """A fixed-width table of the per-split summary."""
    header = ("split", "recs", "segments", "hours", "speakers", "words", "vocab", "oov%",
              "dropped empty/short/long")  # fmt: skip
    rows = [header]
    for split in SPLITS:
        s, d = summary[split], summary[split]["dropped"]
        rows.append((
            split, str(s["recordings"]), str(s["segments"]), f"{s['hours']:.2f}",
            str(s["speakers"]), str(s["words"]), str(s["vocabulary"]),
            f"{100 * s['oov_rate']:.1f}",
            f"{d['empty_text']}/{d['too_short']}/{d['too_long']}",
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
