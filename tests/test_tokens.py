"""Character and BPE tokenizers: round trips (through the CTC detokenisation), reserved ids,
unknown characters."""

from __future__ import annotations

import pytest

from reslstm.ctc import TimedWord, group_words, text_of
from reslstm.lang.bpe import train_bpe
from reslstm.layout import LangDir
from reslstm.tokens import (
    BLANK,
    WORD_SEP,
    WORD_START,
    BpeTokenizer,
    CharTokenizer,
    Tokenizer,
    load_tokenizer,
)


def detokenize(ids: list[int], tok: Tokenizer) -> str:
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


def test_bpe_round_trip_and_model_file(tmp_path) -> None:
    lang = LangDir(tmp_path)
    lang.bpe_model.write_bytes(train_bpe(TEXTS * 10, 40))
    tok = load_tokenizer("bpe", lang)
    assert tok.vocab_size == 40
    for text in TEXTS:
        ids = tok.encode(text)
        assert tok.blank_id not in ids and tok.sep_id not in ids
        assert tok.tokens[ids[0]].startswith(WORD_START)
        assert detokenize(ids, tok) == text
    assert detokenize(tok.encode("SO THE Q REMOTE"), tok) == "SO THE REMOTE"  # Q is unknown


def test_bpe_words_begin_at_their_word_start_piece(tmp_path) -> None:
    # with pieces for single characters only, each word starts with a lone "▁"
    lang = LangDir(tmp_path)
    lang.bpe_model.write_bytes(train_bpe(["AB BA"] * 10, 5))  # <blk> <unk> ▁ A B
    tok = load_tokenizer("bpe", lang)
    assert set(tok.tokens) == {BLANK, "<unk>", WORD_START, "A", "B"}
    ids = tok.encode("AB BA")
    assert [tok.tokens[i] for i in ids] == [WORD_START, "A", "B", WORD_START, "B", "A"]
    words = group_words(ids, [0, 1, 3, 6, 7, 9], tok)
    assert words == [TimedWord("AB", 0, 4), TimedWord("BA", 6, 10)]
    # an unknown token between pieces ends a word, a trailing "▁" makes none
    ids = [*ids[:2], tok.sep_id, *ids[2:], ids[0]]
    words = group_words(ids, range(len(ids)), tok)
    assert [w.word for w in words] == ["A", "B", "BA"]


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_every_training_transcript_round_trips(tiny_manifests, kind: str) -> None:
    from lhotse import load_manifest

    texts = [c.supervisions[0].text for c in load_manifest(tiny_manifests / "cuts_train.jsonl.gz")]
    if kind == "char":
        tok: Tokenizer = CharTokenizer.from_texts(texts)
    else:
        tok = BpeTokenizer(train_bpe(texts, 60))
    assert texts and all(detokenize(tok.encode(t), tok) == t for t in texts)
