"""A small word n-gram estimator with ARPA export.

No maintained PyPI package estimates an ARPA model offline (KenLM's ``lmplz`` is not shipped on
PyPI, ``nltk.lm`` cannot export ARPA), so this module implements the two standard interpolated
estimators directly:

- ``kn``: interpolated modified Kneser-Ney (Chen & Goodman 1998), as ``lmplz``/``ngram-count
  -kndiscount -interpolate`` estimate it: the highest order uses raw counts, lower orders use
  continuation counts (except n-grams starting with ``<s>``), three discounts per order from the
  count-of-counts.
- ``wb``: interpolated Witten-Bell on raw counts.

Both interpolate the unigram level with a uniform distribution over the vocabulary (every word
seen, ``</s>`` and ``<unk>``; ``<s>`` is never predicted). Because the models are interpolated,
the back-off weight of a context in the ARPA file is exactly its interpolation weight, and the
ARPA model gives the same probabilities as :meth:`NgramLM.logprob`. All log-probabilities are
log10, as in ARPA files. No pruning.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reslstm.io import atomic_write_text

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
METHODS = ("kn", "wb")
# Used when a (tiny) corpus has too few distinct count-of-counts for Chen & Goodman's estimates.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
LOG10_ZERO = -99.0  # what lmplz and SRILM write for p(<s>)

Ngram = tuple[str, ...]


@dataclass(frozen=True)
class _Context:
    """Statistics of one history at one order: how much mass is left for the lower order."""

    total: float  # sum of (adjusted) counts of the n-grams continuing this history
    gamma: float  # interpolation (= back-off) weight of the lower order


class NgramLM:
    """An interpolated word n-gram model (built by :func:`train_ngram`)."""

    def __init__(self, counts: list[dict[Ngram, int]], method: str) -> None:
        """``counts[k - 1]`` maps each k-gram to its (adjusted, for ``kn``) count."""
        if method not in METHODS:
            raise ValueError(f"unknown smoothing method {method!r}; expected one of {METHODS}")
        self.order = len(counts)
        self.method = method
        self.counts = counts
        self.vocab = sorted({g[0] for g in counts[0]} | {EOS, UNK})  # the predictable words
        self._known = frozenset(self.vocab) | {BOS}
        self.discounts = [_discounts(c) for c in counts] if method == "kn" else []
        self.contexts = [self._context_stats(k) for k in range(1, self.order + 1)]
        self._prob = lru_cache(maxsize=None)(self._interpolated)

    def _context_stats(self, k: int) -> dict[Ngram, _Context]:
        """Totals and interpolation weights of every history of the k-grams."""
        totals: dict[Ngram, float] = defaultdict(float)
        by_count: dict[Ngram, Counter[int]] = defaultdict(Counter)
        for gram, count in self.counts[k - 1].items():
            totals[gram[:-1]] += count
            by_count[gram[:-1]][min(count, 3)] += 1
        stats = {}
        for hist, total in totals.items():
            n = by_count[hist]
            if self.method == "kn":
                d1, d2, d3 = self.discounts[k - 1]
                left = d1 * n[1] + d2 * n[2] + d3 * n[3]
            else:
                types = n.total()
                left, total = types, total + types
            stats[hist] = _Context(total=total, gamma=left / total)
        return stats

    def _discounted(self, count: int, k: int) -> float:
        if self.method == "wb" or count == 0:
            return float(count)
        return count - self.discounts[k - 1][min(count, 3) - 1]

    def _interpolated(self, gram: Ngram) -> float:
        """p(gram[-1] | gram[:-1]) for an in-vocabulary n-gram of at most ``order`` words."""
        k = len(gram)
        lower = 1.0 / len(self.vocab) if k == 1 else self._prob(gram[1:])
        ctx = self.contexts[k - 1].get(gram[:-1])
        if ctx is None:  # unseen history: back off with weight 1
            return lower
        own = self._discounted(self.counts[k - 1].get(gram, 0), k) / ctx.total
        return own + ctx.gamma * lower

    def _map(self, words: Iterable[str]) -> Ngram:
        return tuple(w if w in self._known else UNK for w in words)

    def logprob(self, word: str, history: Sequence[str] = ()) -> float:
        """log10 p(word | history); out-of-vocabulary words map to ``<unk>``.

        ``history`` is the preceding words, oldest first (start it with ``<s>`` for a sentence
        start); only its last ``order - 1`` words matter. ``logprob("<s>", ...)`` is -inf.
        """
        context = self._map(history)[-(self.order - 1) :] if self.order > 1 else ()
        (target,) = self._map([word])
        if target == BOS:
            return -math.inf
        return math.log10(self._prob((*context, target)))

    def to_arpa(self) -> str:
        """The model in ARPA format (log10 probabilities and back-off weights)."""
        sections = []
        unigrams = [(w,) for w in self.vocab] + [(BOS,)]
        grams_by_order = [sorted(unigrams)] + [sorted(c) for c in self.counts[1:]]
        for k, grams in enumerate(grams_by_order, start=1):
            lines = [f"\\{k}-grams:"]
            for gram in grams:
                prob = LOG10_ZERO if gram == (BOS,) else math.log10(self._prob(gram))
                line = f"{prob:.7f}\t{' '.join(gram)}"
                ctx = self.contexts[k].get(gram) if k < self.order else None
                if ctx is not None:
                    line += f"\t{math.log10(ctx.gamma):.7f}"
                lines.append(line)
            sections.append("\n".join(lines))
        header = ["\\data\\"] + [
            f"ngram {k}={len(g)}" for k, g in enumerate(grams_by_order, start=1)
        ]
        return "\n".join(header) + "\n\n" + "\n\n".join(sections) + "\n\n\\end\\\n"


def _discounts(counts: dict[Ngram, int]) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts D1, D2, D3+ from the count-of-counts of one order."""
    coc = Counter(c for c in counts.values() if c <= 4)
    n1, n2, n3, n4 = (coc[i] for i in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) == 0:
        return FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2 * n2)
    discounts = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    if not all(0 < d < i for i, d in enumerate(discounts, start=1)):
        return FALLBACK_DISCOUNTS
    return discounts


def _raw_counts(sentences: Iterable[str], order: int) -> list[Counter[Ngram]]:
    """Counts of every 1..order-gram of the ``<s> ... </s>``-padded sentences.

    Empty sentences are skipped; ``<s>`` on its own is not counted: it is never predicted.
    """
    counts: list[Counter[Ngram]] = [Counter() for _ in range(order)]
    for sentence in sentences:
        if not (tokens := sentence.split()):
            continue
        words = (BOS, *tokens, EOS)
        for end in range(1, len(words) + 1):
            for k in range(1, min(order, end) + 1):
                counts[k - 1][words[end - k : end]] += 1
    del counts[0][(BOS,)]
    return counts


def _continuation_counts(raw: list[Counter[Ngram]]) -> list[dict[Ngram, int]]:
    """Kneser-Ney adjusted counts: below the top order, the number of distinct left extensions,
    except for n-grams that start with ``<s>`` (nothing can precede them), which keep raw counts.
    """
    adjusted: list[dict[Ngram, int]] = [dict(raw[-1])]
    for k in range(len(raw) - 2, -1, -1):
        lefts: Counter[Ngram] = Counter(g[1:] for g in raw[k + 1])
        adjusted.insert(0, {g: c if g[0] == BOS else lefts[g] for g, c in raw[k].items()})
    return adjusted


def train_ngram(sentences: Iterable[str], order: int = 3, method: str = "kn") -> NgramLM:
    """Estimate a word n-gram model from whitespace-tokenised sentences.

    ``method`` is ``"kn"`` (interpolated modified Kneser-Ney) or ``"wb"`` (Witten-Bell).
    """
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    raw = _raw_counts(sentences, order)
    if not raw[0]:
        raise ValueError("no training sentences")
    counts = _continuation_counts(raw) if method == "kn" else [dict(c) for c in raw]
    return NgramLM(counts, method)


def write_arpa(lm: NgramLM, path: str | Path) -> None:
    """Write ``lm`` as an ARPA file, atomically."""
    atomic_write_text(path, lm.to_arpa())
