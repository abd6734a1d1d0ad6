"""A second opinion on the pairs the claims compare: NIST SCTK's matched-pair tests.

``sclite`` aligns each system's hypotheses with the references (its SGML output keeps every
segment's alignment) and ``sc_stats`` runs, on two systems' SGML at a time:

- MAPSSWE, the matched-pair sentence-segment word error test (Gillick & Cox 1989), on segments;
- the sign test and the Wilcoxon signed-rank test, on per-speaker WERs.

Each answers whether the two systems differ at the 95 % level, and which is better. Both tools
ship in Debian's ``sctk``, as asclite does; without them the section says so and stage 6 goes on.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reslstm.layout import EVAL_SPLITS, RunDir
from reslstm.results.bootstrap import (
    aligned_errors,
    bootstrap_wers,
    percentile_interval,
    read_per_utt,
)
from reslstm.results.claims import MISSING, Cell, PaperTable, claim_specs, rel_change
from reslstm.results.runs import RunResult
from reslstm.results.verdicts import BootstrapConfig
from reslstm.scoring.meeting import find_sctk

TESTS = {"mapsswe": "MAPSSWE", "sign": "sign", "wilc": "Wilcoxon"}  # sc_stats -t name -> title
FIRST, SECOND, SAME = "first", "second", "same"  # which system has fewer errors, significantly


@dataclass(frozen=True)
class Texts:
    """One system's scored segments: cut id -> (reference, hypothesis), normalised as scored."""

    pairs: Mapping[str, tuple[str, str]]


def _trn(lines: Mapping[str, str], speakers: Mapping[str, str], path: Path) -> None:
    """A trn file: ``words (speaker-id)``, the id form sclite's ``-i spu_id`` reads."""
    rows = []
    for cut_id, words in sorted(lines.items()):
        speaker = speakers.get(cut_id) or cut_id.rsplit("-", 1)[0]  # else: the meeting
        speaker = re.sub(r"[^A-Za-z0-9]", "", speaker) or "spk"
        rows.append(f"{words} ({speaker}-{cut_id.replace('-', '_')})".lstrip())
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _sgml(sclite: str, texts: Texts, speakers: Mapping[str, str], title: str, tmp: Path) -> str:
    ref, hyp = tmp / f"{title}.ref.trn", tmp / f"{title}.hyp.trn"
    _trn({i: r for i, (r, _) in texts.pairs.items()}, speakers, ref)
    _trn({i: h for i, (_, h) in texts.pairs.items()}, speakers, hyp)
    cmd = [sclite, "-r", str(ref), "trn", "-h", str(hyp), "trn", title, "-i", "spu_id"]
    out = subprocess.run(
        [*cmd, "-o", "sgml", "stdout", "-f", "0"], capture_output=True, text=True, errors="replace"
    )
    if out.returncode != 0 or "<SYSTEM" not in out.stdout:
        raise RuntimeError(f"sclite failed (exit {out.returncode}): {out.stderr.strip()[-200:]}")
    return out.stdout


def _decision(sc_stats: str, sgml: str, test: str) -> str:
    """Run one ``sc_stats`` test on the SGML of systems A and B; FIRST, SECOND or SAME.

    (sc_stats runs one test per call: several ``-t`` in one call crash SCTK 2.4.)"""
    out = subprocess.run(
        [sc_stats, "-p", "-t", test, "-v", "-n", "-"], input=sgml.encode(), capture_output=True
    )
    text = out.stdout.decode(errors="replace")
    if test == "mapsswe":  # its summary line; SCTK 2.4 prints stray bytes into its matrix
        line = re.search(r"\(mean: (-?[\d.]+)\).*\(Stat Diff: (Yes|No)\)", text)
        if out.returncode != 0 or line is None:
            raise RuntimeError(f"sc_stats -t mapsswe gave no result line (exit {out.returncode})")
        mean, differ = float(line.group(1)), line.group(2) == "Yes"  # mean: A's minus B's errors
        return SAME if not differ or mean == 0 else SECOND if mean > 0 else FIRST
    # the comparison matrix's row of system A: "| A |   | B |" (B better) or "| A |   | same |"
    cell = re.search(r"\|\s*A\s*\|\s*\|\s*(A|B|same)\s*\|", text)
    if out.returncode != 0 or cell is None:
        raise RuntimeError(f"sc_stats -t {test} gave no comparison matrix (exit {out.returncode})")
    return {"A": FIRST, "B": SECOND}.get(cell.group(1), SAME)


def sctk_tests(first: Texts, second: Texts, speakers: Mapping[str, str]) -> dict[str, str] | None:
    """Each of :data:`TESTS` on the segments both systems scored: FIRST / SECOND (that system
    has significantly fewer errors at the 95 % level) or SAME; ``None`` without SCTK."""
    sclite, sc_stats = find_sctk("sclite"), find_sctk("sc_stats")
    if sclite is None or sc_stats is None:
        return None
    common = sorted(set(first.pairs) & set(second.pairs))
    a = Texts({i: first.pairs[i] for i in common})
    b = Texts({i: second.pairs[i] for i in common})
    with tempfile.TemporaryDirectory() as tmp:
        sgml = _sgml(sclite, a, speakers, "A", Path(tmp)) + _sgml(
            sclite, b, speakers, "B", Path(tmp)
        )
        return {test: _decision(sc_stats, sgml, test) for test in TESTS}


def _short(cell: Cell) -> str:
    return f"{cell[0].split('_')[0]} {cell[1]}"


def claim_pairs(paper: PaperTable) -> list[tuple[Cell, Cell]]:
    """The (new, base) pairs of systems that the claims of ``paper`` compare, in claim order."""
    pairs: list[tuple[Cell, Cell]] = []
    for spec in claim_specs(paper):
        pairs += [c.pair for c in spec.conditions if c.pair and c.pair not in pairs]
    return pairs


def _bootstrap_decision(low: float, high: float) -> str:
    """FIRST when the new system's relative change is below 0 with confidence, SECOND above."""
    return FIRST if high < 0 else SECOND if low > 0 else SAME


def significance_section(
    grid: Mapping[Cell, RunResult],
    method: str,
    paper: PaperTable,
    boot: BootstrapConfig,
    speakers: Mapping[str, str] | None = None,
) -> list[str]:
    """RESULTS.md's "second opinion": for every pair the claims compare, the paired bootstrap's
    decision beside sc_stats' MAPSSWE, sign and Wilcoxon tests, on the non-overlapped segments
    of dev and of test, and where they disagree. ``speakers`` (cut id -> speaker) gives the sign
    and Wilcoxon tests their blocks; without it each meeting is one block."""
    pairs = [p for p in claim_pairs(paper) if p[0] in grid and p[1] in grid]
    if not pairs:
        return []
    head = (
        "| Pair (new vs base) | "
        + " | ".join(
            f"{split.capitalize()} {col}"
            for split in EVAL_SPLITS
            for col in ("change [95 % interval]", "bootstrap", *TESTS.values())
        )
        + " |"
    )
    rule = "|---|" + ("--:|" + ":-:|" * (1 + len(TESTS))) * len(EVAL_SPLITS)
    rows, disagree, missing_sctk = [], [], False
    cells: dict[tuple[Cell, Cell], list[str]] = {p: [] for p in pairs}
    for split in EVAL_SPLITS:
        tables = {}
        for cell in {c for p in pairs for c in p}:
            path = RunDir(grid[cell].path).decode(split, method).per_utt
            if path.is_file():
                tables[cell] = {
                    i: s for i, s in read_per_utt(path).items() if s.overlapped is False
                }
        for new, base in pairs:
            if new not in tables or base not in tables:
                cells[(new, base)] += [MISSING] * (2 + len(TESTS))
                continue
            errors, ref = aligned_errors({new: [tables[new]], base: [tables[base]]})
            boot_wers = bootstrap_wers(errors, ref, boot.samples, boot.seed)
            change = rel_change(new, base)
            low, high = percentile_interval(change(boot_wers.draws), boot.confidence)
            point = change(boot_wers.point)
            decided = _bootstrap_decision(low, high)
            texts = [Texts({i: (s.ref, s.hyp) for i, s in tables[c].items()}) for c in (new, base)]
            try:
                tests = sctk_tests(*texts, speakers or {})
            except RuntimeError as e:
                tests = {t: f"failed ({e})" for t in TESTS}
            if tests is None:
                missing_sctk = True
                tests = {t: MISSING for t in TESTS}
            names = {FIRST: _short(new), SECOND: _short(base), SAME: "n.s."}
            cells[(new, base)] += [
                f"{point:+.1f} % [{low:+.1f}, {high:+.1f}]",
                names[decided],
                *(names.get(d, d) for d in tests.values()),
            ]
            off = [TESTS[t] for t, d in tests.items() if d in names and d != decided]
            if off:
                disagree.append(f"{_short(new)} vs {_short(base)} on {split} ({', '.join(off)})")
    rows = [f"| {_short(n)} vs {_short(b)} | " + " | ".join(cells[(n, b)]) + " |" for n, b in pairs]
    if missing_sctk:
        verdict = (
            "sc_stats was not run: NIST SCTK (Debian's `sctk`) is not installed; the bootstrap "
            "stands alone."
        )
    elif disagree:
        verdict = "The methods disagree on: " + "; ".join(disagree) + "."
    else:
        verdict = "The bootstrap and the three NIST tests agree on every pair."
    return [
        f"### Second opinion: NIST sc_stats on the pairs the claims compare (`{method}`, "
        "non-overlapped segments)",
        "",
        head,
        rule,
        *rows,
        "",
        "Each decision names the system with significantly fewer errors at the 95 % level, "
        "or n.s. (no significant difference). Bootstrap: the paired bootstrap's interval of "
        "the relative WER change excludes 0. MAPSSWE (matched-pair sentence-segment word "
        "error) compares the segments; sign and Wilcoxon compare per-speaker WERs "
        "(sclite + sc_stats, NIST SCTK). " + verdict,
        "",
    ]
