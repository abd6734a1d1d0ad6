"""Greedy and lexicon beam CTC decoding on hand-built posteriors, over characters and BPE pieces."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reslstm.ctc import TimedWord, best_path, greedy_decode, text_of
from reslstm.decode.beam import LexiconBeamDecoder
from reslstm.lang.bpe import train_bpe
from reslstm.lang.lexicon import write_lexicon
from reslstm.lm.ngram import train_ngram, write_arpa
from reslstm.tokens import BpeTokenizer, CharTokenizer, Tokenizer

TOKENIZER = CharTokenizer.from_texts(["THE CAT BAT SAT ON MAT"])
# THE: ▁THE, CAT: ▁C AT, BAT: ▁ B AT, SAT: ▁S AT, ON: ▁ON, MAT: ▁M AT
BPE = BpeTokenizer(train_bpe(["THE CAT SAT ON THE MAT", "A BAT SAT ON THE CAT", "THE MAT"] * 5, 22))
LM_TEXT = ["THE CAT SAT ON THE MAT", "THE CAT SAT", "ON THE MAT", "THE MAT"]


def posteriors(frames: list[dict[str, float]], tok: Tokenizer = TOKENIZER) -> torch.Tensor:
    """``[T, V]`` log-posteriors: each frame's listed tokens get their mass, the rest share 1e-4."""
    index = {t: i for i, t in enumerate(tok.tokens)}
    out = torch.full((len(frames), tok.vocab_size), 1e-4)
    for t, frame in enumerate(frames):
        for tok, p in frame.items():
            out[t, index[tok]] = p
    return (out / out.sum(-1, keepdim=True)).log()


def spell(text: str, blanks: int = 1, tok: Tokenizer = TOKENIZER) -> list[dict[str, float]]:
    """Frames that emit ``text`` (``|`` between words), each token followed by blank frames."""
    frames = []
    for i in tok.encode(text):
        frames += [{tok.tokens[i]: 1.0}] + [{"<blk>": 1.0}] * blanks
    return frames


# "BAT" is slightly more likely acoustically than "CAT"; the LM has never seen "BAT".
THE_BAT_OR_CAT_SAT = spell("THE") + [{"|": 1.0}, {"B": 0.55, "C": 0.45}] + spell("AT SAT")


def test_greedy_collapses_repeats_drops_blanks_and_respects_lengths() -> None:
    ids = {tok: i for i, tok in enumerate(TOKENIZER.tokens)}
    seq = ["<blk>", "C", "C", "A", "<blk>", "A", "T", "|", "|", "O", "N", "<blk>", "T"]
    frames = [{tok: 1.0} for tok in seq]
    batch = torch.stack([posteriors(frames), posteriors(frames[:4] + [{"<blk>": 1.0}] * 9)])
    hyps = best_path(batch, torch.tensor([12, 4]), TOKENIZER.blank_id)
    assert [h for h, _ in hyps] == [[ids[c] for c in "CAAT|ON"], [ids["C"], ids["A"]]]
    words = greedy_decode(batch, torch.tensor([12, 4]), TOKENIZER)
    assert [text_of(w) for w in words] == ["CAAT ON", "CA"]


@pytest.fixture
def lang_dir(tmp_path: Path) -> Path:
    words = ["THE", "CAT", "BAT", "SAT", "ON", "MAT", "MAT", "CAT-S"]
    n = write_lexicon(words, TOKENIZER, tmp_path / "lexicon.txt")
    assert n == 6  # duplicates merged, CAT-S unspellable ("-" is not a token)
    assert "CAT C A T\n" in (tmp_path / "lexicon.txt").read_text()
    write_arpa(train_ngram(LM_TEXT, order=3), tmp_path / "lm.arpa")
    return tmp_path


@pytest.fixture
def bpe_lang_dir(tmp_path: Path) -> Path:
    words = ["THE", "CAT", "BAT", "SAT", "ON", "MAT", "FOX"]
    n = write_lexicon(words, BPE, tmp_path / "lexicon.txt")
    assert n == 6  # FOX unspellable
    lexicon = (tmp_path / "lexicon.txt").read_text()
    assert "CAT \u2581C AT\n" in lexicon and "BAT \u2581 B AT\n" in lexicon
    write_arpa(train_ngram(LM_TEXT, order=3), tmp_path / "lm.arpa")
    return tmp_path


def test_beam_without_lm_follows_acoustics_and_ends_words_without_separator(
    lang_dir: Path,
) -> None:
    # One frame per token and no trailing "|": the last word must still be recognised.
    tight = posteriors(spell("THE CAT SAT ON THE MAT", blanks=0))
    ambiguous = posteriors(THE_BAT_OR_CAT_SAT)
    decoder = LexiconBeamDecoder(TOKENIZER, lang_dir / "lexicon.txt", None, 20)
    lengths = torch.tensor([tight.shape[0], ambiguous.shape[0]])
    batch = torch.nn.utils.rnn.pad_sequence([tight, ambiguous], batch_first=True)
    assert decoder.decode(batch, lengths) == ["THE CAT SAT ON THE MAT", "THE BAT SAT"]


def test_beam_with_lm_prefers_the_in_lm_sentence(lang_dir: Path) -> None:
    log_probs = posteriors(THE_BAT_OR_CAT_SAT)[None]
    lengths = torch.tensor([len(THE_BAT_OR_CAT_SAT)])
    lm = lang_dir / "lm.arpa"
    decoder = LexiconBeamDecoder(TOKENIZER, lang_dir / "lexicon.txt", lm, 20, 1.0)
    assert decoder.decode(log_probs, lengths) == ["THE CAT SAT"]
    decoder = LexiconBeamDecoder(TOKENIZER, lang_dir / "lexicon.txt", lm, nbest=2)
    assert decoder.decode_nbest(log_probs, lengths) == [["THE CAT SAT", "THE BAT SAT"]]


def test_greedy_words_carry_the_frames_of_their_tokens() -> None:
    seq = ["<blk>", "C", "C", "A", "<blk>", "A", "T", "|", "|", "O", "N", "<blk>", "T"]
    log_probs = posteriors([{tok: 1.0} for tok in seq])[None]
    words = greedy_decode(log_probs, torch.tensor([len(seq)]), TOKENIZER)[0]
    # C at 1, A at 3, A at 5, T at 6 (first frame of each run); O at 9, N at 10; T at 12
    assert words == [TimedWord("CAAT", 1, 7), TimedWord("ONT", 9, 13)]
    assert text_of(words) == "CAAT ONT"


def test_beam_words_are_timed_by_the_tokens_that_spell_them(lang_dir: Path) -> None:
    frames = spell("THE CAT SAT", blanks=1)  # token k at frame 2k
    decoder = LexiconBeamDecoder(TOKENIZER, lang_dir / "lexicon.txt", None, 20)
    words = decoder.decode_timed(posteriors(frames)[None], torch.tensor([len(frames)]))[0]
    assert [w.word for w in words] == ["THE", "CAT", "SAT"]
    assert words[0] == TimedWord("THE", 0, 5)  # T at 0, H at 2, E at 4; "|" at 6
    assert words[1] == TimedWord("CAT", 8, 13) and words[2] == TimedWord("SAT", 16, 21)


def test_bpe_beam_and_greedy_decode_pieces_into_timed_words(bpe_lang_dir: Path) -> None:
    text = "THE BAT SAT ON THE MAT"
    tight = posteriors(spell(text, blanks=0, tok=BPE), BPE)
    spaced = posteriors(spell(text, blanks=1, tok=BPE), BPE)  # piece k at frame 2k
    lengths = torch.tensor([tight.shape[0], spaced.shape[0]])
    batch = torch.nn.utils.rnn.pad_sequence([tight, spaced], batch_first=True)
    decoder = LexiconBeamDecoder(BPE, bpe_lang_dir / "lexicon.txt", None, 20)
    assert decoder.decode(batch, lengths) == [text, text]
    assert [text_of(w) for w in greedy_decode(batch, lengths, BPE)] == [text, text]
    # ▁THE ▁ B AT ▁S AT ▁ON ▁THE ▁M AT: each word from its first piece to its last
    expected = [("THE", 0, 1), ("BAT", 2, 7), ("SAT", 8, 11), ("ON", 12, 13), ("THE", 14, 15)]
    expected.append(("MAT", 16, 19))
    timed = [TimedWord(w, a, b) for w, a, b in expected]
    assert decoder.decode_timed(spaced[None], lengths[1:]) == [timed]
    assert greedy_decode(spaced[None], lengths[1:], BPE) == [timed]


def test_bpe_beam_with_lm_prefers_the_in_lm_sentence(bpe_lang_dir: Path) -> None:
    # "▁ B" (BAT) is slightly more likely acoustically than "▁C" (CAT); the LM has never seen BAT
    frames = spell("THE", tok=BPE) + [{"\u2581": 0.55, "\u2581C": 0.45}, {"B": 0.55, "<blk>": 0.45}]
    frames += [{"AT": 1.0}, {"<blk>": 1.0}] + spell("SAT", tok=BPE)
    log_probs, lengths = posteriors(frames, BPE)[None], torch.tensor([len(frames)])
    lexicon, lm = bpe_lang_dir / "lexicon.txt", bpe_lang_dir / "lm.arpa"
    without_lm = LexiconBeamDecoder(BPE, lexicon, None, 20)
    assert without_lm.decode(log_probs, lengths) == ["THE BAT SAT"]
    with_lm = LexiconBeamDecoder(BPE, lexicon, lm, 20, 1.0)
    assert with_lm.decode(log_probs, lengths) == ["THE CAT SAT"]
