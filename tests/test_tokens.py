"""Character tokenizer: round trips (through the CTC detokenisation), reserved ids, unknown
characters."""

from __future__ import annotations

import pytest

from reslstm.ctc import group_words, text_of
from reslstm.tokens import BLANK, WORD_SEP, CharTokenizer


def detokenize(ids: list[int], tok: CharTokenizer) -> str:
    return text_of(group_words(ids, range(len(ids)), tok))


TEXTS = ["SO THE REMOTE CONTROL", "MM-HMM OKAY", "WE'LL USE 2 BUTTONS"]


def test_round_trip_and_reserved_ids(tmp_path) -> None:
    tok = CharTokenizer.from_texts(TEXTS)
    assert tok.tokens[:2] == (BLANK, WORD_SEP)
    for text in TEXTS:
        ids = tok.encode(text)
        assert tok.blank_id not in ids
        assert detokenize(ids, tok) == text
    path = tmp_path / "tokens.txt"
    path.write_text(tok.to_text())
    assert CharTokenizer.from_file(path) == tok


def test_unknown_characters_are_reported_and_dropped() -> None:
    tok = CharTokenizer.from_texts(["AB"])
    assert tok.oov_chars("ABZ Q") == {"Z", "Q"}
    assert detokenize(tok.encode("ABZ"), tok) == "AB"


def test_reserved_separator_in_text_is_rejected() -> None:
    with pytest.raises(ValueError, match="separator"):
        CharTokenizer.from_texts(["A|B"])


def test_every_training_transcript_round_trips(tiny_manifests) -> None:
    from lhotse import load_manifest

    texts = [c.supervisions[0].text for c in load_manifest(tiny_manifests / "cuts_train.jsonl.gz")]
    tok = CharTokenizer.from_texts(texts)
    assert texts and all(detokenize(tok.encode(t), tok) == t for t in texts)
