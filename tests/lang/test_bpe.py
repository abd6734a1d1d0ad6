"""Stage 2 with BPE tokens: the sentencepiece model, the lexicon in pieces, and vocabulary sizes
the training text does not allow (one line, nothing written)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lhotse import load_manifest

from reslstm.errors import ReslstmError
from reslstm.io import is_done
from reslstm.lang.bpe import train_bpe
from reslstm.lang.prepare import prepare_lang
from reslstm.layout import LangDir
from reslstm.tokens import BLANK, UNK, WORD_START, BpeTokenizer, load_tokenizer

TEXTS = ["THE CAT SAT ON THE MAT", "THE MAT SAT ON THE CAT", "A CAT AND A BAT"] * 20


def test_model_reserves_blank_and_unk_and_covers_every_character() -> None:
    tok = BpeTokenizer(train_bpe(TEXTS, 30))
    assert tok.vocab_size == 30 and tok.tokens[:2] == (BLANK, UNK)
    assert (tok.blank_id, tok.sep_id) == (0, 1)
    assert tok.oov_chars(" ".join(TEXTS)) == set()
    assert tok.oov_chars("THE FOX") == {"F", "X"}


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        (5000, r"transcripts allow at most \d+ pieces$"),
        (5, rf"transcripts need at least \d+ pieces \(each character, {BLANK} and <unk>\)$"),
    ],
)
def test_impossible_vocabulary_size_is_one_line(size: int, reason: str) -> None:
    with pytest.raises(ReslstmError, match=rf"^lang\.bpe_vocab_size={size}: the training {reason}"):
        train_bpe(TEXTS, size)


def test_lexicon_spells_words_in_pieces(tiny_manifests: Path, tmp_path: Path, tiny_config) -> None:
    cfg = tiny_config("lang=bpe", "lang.bpe_vocab_size=60")
    lang = LangDir(tmp_path / "lang")
    summary = prepare_lang(cfg.lang, tiny_manifests, lang.path)
    assert summary["tokens"] == 60 and is_done(lang.path)
    assert lang.bpe_model.is_file() and not lang.tokens.exists()
    tok = load_tokenizer("bpe", lang)
    lexicon = dict(line.split(" ", 1) for line in lang.lexicon.read_text().splitlines())
    assert sorted(lexicon) == lang.words.read_text().split()
    for word, spelling in lexicon.items():
        pieces = spelling.split()
        assert pieces[0].startswith(WORD_START)
        assert not any(p.startswith(WORD_START) for p in pieces[1:])
        assert "".join(pieces) == WORD_START + word
        assert set(pieces) <= set(tok.tokens[2:])
    # what training encodes is the lexicon's spellings, word by word
    text = load_manifest(tiny_manifests / "cuts_train.jsonl.gz")[0].supervisions[0].text
    pieces = [tok.tokens[i] for i in tok.encode(text)]
    assert pieces == [p for w in text.split() for p in lexicon[w].split()]


def test_too_large_vocabulary_through_stage_2_writes_nothing(
    tiny_manifests: Path, tmp_path: Path, tiny_config
) -> None:
    cfg = tiny_config("lang=bpe", "lang.bpe_vocab_size=100000")
    with pytest.raises(ReslstmError, match=r"^lang\.bpe_vocab_size=100000: .* at most \d+ pieces$"):
        prepare_lang(cfg.lang, tiny_manifests, tmp_path / "lang")
    assert not (tmp_path / "lang").exists()


def test_bpe_needs_its_group(tiny_manifests: Path, tmp_path: Path, tiny_config) -> None:
    cfg = tiny_config("lang.tokens=bpe")
    with pytest.raises(ReslstmError, match=r"^lang\.tokens=bpe: select BPE tokens with lang=bpe$"):
        prepare_lang(cfg.lang, tiny_manifests, tmp_path / "lang")
    assert not (tmp_path / "lang").exists()


@pytest.mark.parametrize("content", [b"", b"not a model\n"])
def test_unreadable_model_is_one_line(tmp_path: Path, content: bytes) -> None:
    lang = LangDir(tmp_path)
    with pytest.raises(ReslstmError, match=r"missing .*bpe\.model: run stage 2 \(tokens\) first$"):
        load_tokenizer("bpe", lang)
    lang.bpe_model.write_bytes(content)
    with pytest.raises(ReslstmError, match=r"bpe\.model: not a sentencepiece model; redo stage 2"):
        load_tokenizer("bpe", lang)
