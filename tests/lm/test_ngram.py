"""The n-gram estimator: normalisation, Kneser-Ney behaviour, ARPA export read back by KenLM."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import Dictionary

from reslstm.lm.ngram import BOS, EOS, UNK, train_ngram, write_arpa

SENTENCES = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
    "the cat ran",
    "on the mat the dog sat",
    "the cat sat",
    "a dog ran on the mat",
    "san francisco is big",
    "i like san francisco",
    "san francisco san francisco",
]
HISTORIES = [(), (BOS,), ("the",), ("the", "cat"), (BOS, "the"), ("zzz", "the"), ("cat", "zzz")]


@pytest.mark.parametrize("method", ["kn", "wb"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_distributions_sum_to_one(method: str, order: int) -> None:
    lm = train_ngram(SENTENCES, order=order, method=method)
    assert EOS in lm.vocab and UNK in lm.vocab and BOS not in lm.vocab
    for history in HISTORIES:
        total = sum(10 ** lm.logprob(w, history) for w in lm.vocab)
        assert total == pytest.approx(1.0, abs=1e-9), history
    assert lm.logprob(BOS, ()) == -math.inf


def test_kneser_ney_uses_continuation_counts() -> None:
    # "francisco" is frequent but only ever follows "san": its unigram (continuation)
    # probability is below that of the rarer but more versatile "sat".
    lm = train_ngram(SENTENCES, order=3)
    assert lm.logprob("francisco") < lm.logprob("sat")
    assert lm.logprob("francisco", ["san"]) > lm.logprob("sat", ["san"])
    assert lm.logprob("never-seen") == lm.logprob(UNK)


@pytest.mark.parametrize("method", ["kn", "wb"])
def test_arpa_loads_in_kenlm_with_same_scores(tmp_path: Path, method: str) -> None:
    lm = train_ngram(SENTENCES, order=3, method=method)
    arpa = tmp_path / "lm.arpa"
    write_arpa(lm, arpa)
    sizes = [len(lm.vocab) + 1, len(lm.counts[1]), len(lm.counts[2])]  # unigrams: + <s>
    header = ["\\data\\"] + [f"ngram {k}={n}" for k, n in enumerate(sizes, start=1)]
    assert arpa.read_text().splitlines()[:4] == header

    words = Dictionary([*lm.vocab, BOS])
    kenlm = KenLM(str(arpa), words)
    for sentence in ["the cat sat on the mat", "san francisco is a dog", "zzz the cat qqq ran"]:
        state, history = kenlm.start(False), [BOS]
        for word in sentence.split():
            index = words.get_index(word if word in lm.vocab else UNK)
            state, got = kenlm.score(state, index)
            assert got == pytest.approx(lm.logprob(word, history), abs=1e-5), (sentence, word)
            history.append(word)
        _, got = kenlm.finish(state)
        assert got == pytest.approx(lm.logprob(EOS, history), abs=1e-5)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        train_ngram(SENTENCES, method="good-turing")
    with pytest.raises(ValueError, match="no training"):
        train_ngram([""])
