"""The mini corpus generator: AMI layout, determinism, grammar and speaker splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from reslstm.data.mini import generate_corpus
from reslstm.data.mini.generate import MiniConfig, meeting_ids, plan_meetings
from reslstm.data.mini.grammar import sentences_for, split_of, vocabulary, words_of
from reslstm.layout import SPLITS


def test_ami_layout(tiny_corpus_dir: Path) -> None:
    for meeting in ("ES2002a", "ES2011a", "ES2004a"):
        audio = tiny_corpus_dir / meeting / "audio"
        for name in (f"{meeting}.Array1-01.wav", f"{meeting}.Headset-0.wav"):
            info = sf.info(audio / name)
            assert (info.channels, info.samplerate, info.subtype) == (1, 16000, "PCM_16")
        ann = tiny_corpus_dir / "ami_public_manual_1.6.2"
        assert (ann / "segments" / f"{meeting}.A.segments.xml").is_file()
        assert (ann / "words" / f"{meeting}.B.words.xml").is_file()
    text = (ann / "words" / "ES2002a.A.words.xml").read_text()
    assert 'xmlns:nite="http://nite.sourceforge.net/"' in text and 'punc="true">.</w>' in text


def test_distant_differs_from_headsets(tiny_corpus_dir: Path) -> None:
    audio = tiny_corpus_dir / "ES2002a" / "audio"
    distant, _ = sf.read(audio / "ES2002a.Array1-01.wav")
    close, _ = sf.read(audio / "ES2002a.Headset-0.wav")
    assert len(distant) == len(close)
    assert abs(np.corrcoef(distant, close)[0, 1]) < 0.9


def test_complete_corpus_is_skipped(tiny_corpus_dir: Path, tiny_config) -> None:
    before = (tiny_corpus_dir / "ES2002a" / "audio" / "ES2002a.Array1-01.wav").stat().st_mtime_ns
    info = generate_corpus(tiny_corpus_dir, tiny_config().data.mini)
    assert [m["meeting"] for m in info["meetings"]] == ["ES2002a", "ES2004a", "ES2011a"]
    after = (tiny_corpus_dir / "ES2002a" / "audio" / "ES2002a.Array1-01.wav").stat().st_mtime_ns
    assert before == after


def test_grammar_splits_and_vocabulary() -> None:
    assert 300 <= len(vocabulary()) <= 400
    rng = np.random.default_rng(0)
    seen = {}
    for split in SPLITS:
        stream = sentences_for(split, rng, filler_prob=0.15)
        seen[split] = {" ".join(words_of(next(stream))) for _ in range(200)}
        assert all(split_of(s.split()) == split for s in seen[split])
    assert not seen["train"] & (seen["dev"] | seen["test"])


def test_plan_speakers_disjoint(tiny_config) -> None:
    config = MiniConfig.from_mapping(tiny_config("data=mini").data.mini)
    plans = plan_meetings(config)
    voices = {split: set() for split in SPLITS}
    names = {split: set() for split in SPLITS}
    for plan in plans:
        voices[plan.split] |= {s.voice for s in plan.speakers}
        names[plan.split] |= {s.global_name for s in plan.speakers}
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not voices[a] & voices[b] and not names[a] & names[b]
    assert meeting_ids("dev", 1) == ["ES2011a"] and meeting_ids("test", 1) == ["ES2004a"]
