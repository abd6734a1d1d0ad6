"""Streaming: a recording fed in chunks of any size gives the words of the whole recording."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from reslstm.cli.compose import compose_config
from reslstm.ctc import TimedWord, greedy_decode
from reslstm.errors import ReslstmError
from reslstm.features.fbank import make_extractor
from reslstm.lang.bpe import train_bpe
from reslstm.models import CTCModel, build_model
from reslstm.streaming import KEEP_FRAMES, GreedyWords, StreamEncoder, rechunk
from reslstm.tokens import BpeTokenizer, CharTokenizer, Tokenizer

RATE = 16000
TEXTS = ["THE CAT SAT ON THE MAT", "A DOG RAN", "MEETINGS RUN LONG"]
CHUNKS_MS = [10, 30, 100, 370, 1000, 2000]  # 10 ms to 2 s, and sizes that cut stacks and frames


def audio(seconds: float = 4.3, seed: int = 0) -> np.ndarray:
    """Speech-like test audio: a few amplitude-modulated tones in noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    tones = sum(
        np.sin(2 * np.pi * f * t + p) for f, p in zip((180, 450, 1300), rng.random(3), strict=True)
    )
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 1.7 * t)
    return (0.1 * envelope * tones + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def features_cfg() -> dict[str, Any]:
    return dict(compose_config([]).features)


def model_for(
    model_config: Callable[[str], dict[str, Any]], cell: str, vocab: int, feats: torch.Tensor
) -> CTCModel:
    """A small model of ``cell`` with random weights, its CMVN from ``feats`` ``[T, 80]`` and its
    output layer scaled so that every token's logit has mean 0 and std 1 over ``feats``: its
    best path changes token every few frames, and separators split it into words."""
    torch.manual_seed(3)
    cfg = model_config(cell) | {"num_layers": 3, "cell_dim": 24, "proj_dim": 12}
    model = build_model(cfg, 80, vocab).eval()
    model.set_cmvn(feats.mean(0), feats.std(0))
    with torch.no_grad():
        x, lens = model.frontend(feats[None], torch.tensor([len(feats)]))
        hidden = model.encoder(x, lens)[0]
        model.output.weight.div_(model.output(hidden).std(0)[:, None])
        model.output.bias.sub_(model.output(hidden).mean(0))
    return model


def fbank(features_cfg: dict[str, Any], samples: np.ndarray) -> torch.Tensor:
    """Training's (offline) fbank of the whole recording, ``[T, 80]``."""
    return torch.from_numpy(make_extractor(features_cfg).extract(samples[None], RATE))


def whole_words(
    model: CTCModel, tokenizer: Tokenizer, features_cfg: dict[str, Any], samples: np.ndarray
) -> list[TimedWord]:
    """Greedy words of the whole recording: training's (offline) fbank, one forward pass."""
    feats = fbank(features_cfg, samples)[None]
    with torch.no_grad():
        log_probs, lens = model(feats, torch.tensor([feats.shape[1]]))
    return greedy_decode(log_probs, lens, tokenizer)[0]


def streamed_words(
    model: CTCModel,
    tokenizer: Tokenizer,
    features_cfg: dict[str, Any],
    samples: np.ndarray,
    chunk_ms: int,
) -> list[TimedWord]:
    """The words a stream returns, chunk by chunk (the audio read in 1.1-s blocks and cut
    again, as the CLI does), then at its end."""
    encoder = StreamEncoder(model, features_cfg, torch.device("cpu"))
    greedy = GreedyWords(tokenizer)
    blocks = [samples[i : i + 17600] for i in range(0, len(samples), 17600)]
    words = []
    for chunk in rechunk(blocks, RATE * chunk_ms // 1000):
        words += greedy.push(encoder.accept(chunk))
    return words + greedy.push(encoder.finish()) + greedy.finish()


def test_rechunk_cuts_blocks_into_chunks_of_one_size() -> None:
    blocks = [np.arange(0, 7), np.arange(7, 9), np.arange(9, 20)]
    chunks = list(rechunk(blocks, 3))
    assert [len(c) for c in chunks] == [3, 3, 3, 3, 3, 3, 2]
    assert np.concatenate(chunks).tolist() == list(range(20))
    with pytest.raises(ReslstmError, match="at least one sample"):
        next(rechunk(blocks, 0))


@pytest.mark.parametrize("cell", ["plain", "highway", "residual"])
def test_a_chunked_stream_gives_the_greedy_words_of_the_whole_recording(
    cell: str, model_config, features_cfg
) -> None:
    tokenizer = CharTokenizer.from_texts(TEXTS)
    samples = audio()
    model = model_for(model_config, cell, len(tokenizer.tokens), fbank(features_cfg, samples))
    whole = whole_words(model, tokenizer, features_cfg, samples)
    assert len(whole) >= 2  # the test model says something
    for chunk_ms in CHUNKS_MS:
        assert streamed_words(model, tokenizer, features_cfg, samples, chunk_ms) == whole, chunk_ms


def test_a_stream_returns_words_before_its_end(model_config, features_cfg) -> None:
    tokenizer = CharTokenizer.from_texts(TEXTS)
    samples = audio()
    model = model_for(model_config, "residual", len(tokenizer.tokens), fbank(features_cfg, samples))
    encoder = StreamEncoder(model, features_cfg, torch.device("cpu"))
    greedy = GreedyWords(tokenizer)
    early = greedy.push(encoder.accept(samples[: len(samples) // 2]))
    assert early and all(w.end <= len(samples) / 2 / RATE / 0.03 for w in early)
    with pytest.raises(ReslstmError, match=r"mono samples \[N\], got shape \(2, 160\)"):
        encoder.accept(np.zeros((2, 160), dtype=np.float32))
    encoder.finish()
    with pytest.raises(ReslstmError, match="the stream is finished"):
        encoder.accept(samples[:160])


def test_bpe_words_end_where_the_next_word_starts() -> None:
    """With BPE pieces a word is final once a piece starting with ``▁`` follows it."""
    tokenizer = BpeTokenizer(train_bpe(TEXTS * 10, 30))
    ids = tokenizer.encode("THE CAT SAT ON THE MAT")
    blank = tokenizer.blank_id
    frames = [t for i in ids for t in (i, blank)]  # one frame per piece, blanks between
    log_probs = torch.full((len(frames), len(tokenizer.tokens)), -10.0)
    log_probs[torch.arange(len(frames)), torch.tensor(frames)] = 0.0
    whole = greedy_decode(log_probs[None], torch.tensor([len(frames)]), tokenizer)[0]
    greedy = GreedyWords(tokenizer)
    words = [w for f in range(len(frames)) for w in greedy.push(log_probs[f : f + 1])]
    assert [w.word for w in words] == ["THE", "CAT", "SAT", "ON", "THE"]  # MAT still open
    assert words + greedy.finish() == whole


def test_a_bidirectional_model_refuses_to_stream(model_config, features_cfg) -> None:
    model = build_model(model_config("plain") | {"bidirectional": True}, 80, 5)
    with pytest.raises(ReslstmError, match="bidirectional model reads the future"):
        StreamEncoder(model, features_cfg, torch.device("cpu"))


def test_a_chunk_longer_than_the_frames_the_extractor_keeps(model_config, features_cfg) -> None:
    """One accept of 12 s: more frames than the online extractor keeps (``KEEP_FRAMES``)."""
    tokenizer = CharTokenizer.from_texts(TEXTS)
    samples = audio(seconds=12.0, seed=1)
    assert len(samples) / RATE > KEEP_FRAMES * features_cfg["frame_shift"]
    model = model_for(model_config, "plain", len(tokenizer.tokens), fbank(features_cfg, samples))
    whole = whole_words(model, tokenizer, features_cfg, samples)
    assert len(whole) >= 2  # the test model says something
    assert streamed_words(model, tokenizer, features_cfg, samples, 12000) == whole
