"""Bad corpora fail with one clear CorpusError line and leave no manifests or marker behind."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from reslstm.cli.compose import compose_config
from reslstm.data.errors import CorpusError
from reslstm.data.prepare import prepare_data

ANN = "ami_public_manual_1.6.2"
SDM = "ES2002a/audio/ES2002a.Array1-01.wav"


def _write(relative: str, data: bytes) -> Callable[[Path], None]:
    def mutate(corpus: Path) -> None:
        (corpus / relative).write_bytes(data)

    return mutate


def _remove(relative: str) -> Callable[[Path], None]:
    def mutate(corpus: Path) -> None:
        path = corpus / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    return mutate


def _audio(array: np.ndarray, rate: int) -> Callable[[Path], None]:
    def mutate(corpus: Path) -> None:
        sf.write(corpus / SDM, array, rate, subtype="PCM_16", format="WAV")

    return mutate


CASES = {
    "missing corpus dir": (_remove(""), "missing corpus directory"),
    "missing meetings.xml": (
        _remove(f"{ANN}/corpusResources/meetings.xml"), "missing annotation file",
    ),
    "missing words dir": (_remove(f"{ANN}/words"), "missing annotation directory"),
    "missing words file": (_remove(f"{ANN}/words/ES2002a.A.words.xml"), "ES2002a.A.words.xml"),
    "stray file in words": (_write(f"{ANN}/words/README.txt", b"notes"), "README.txt"),
    "stray file in segments": (
        _write(f"{ANN}/segments/ES2002a.A.segments.xml.bak", b""), "segments.xml.bak",
    ),
    "malformed words xml": (_write(f"{ANN}/words/ES2002a.B.words.xml", b"<w>"), "B.words.xml"),
    "corrupt wav": (_write(SDM, b"RIFF not really a wav file"), "unreadable audio file"),
    "zero-length wav": (_audio(np.zeros(0), 16000), "is empty"),
    "stereo wav": (_audio(np.zeros((16000, 2)), 16000), "has 2 channels"),
    "wrong sample rate": (_audio(np.zeros(8000), 8000), "8000 Hz"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_bad_corpus(case: str, tiny_corpus_dir: Path, tmp_path: Path) -> None:
    mutate, expected = CASES[case]
    corpus = tmp_path / "amicorpus"
    shutil.copytree(tiny_corpus_dir, corpus)
    mutate(corpus)
    cfg = compose_config(
        ["data=ami_sdm", f"paths.data_dir={tmp_path}", f"data.corpus_dir={corpus}"]
    )
    with pytest.raises(CorpusError) as error:
        prepare_data(cfg.data, cfg.paths.manifest_dir)
    message = str(error.value)
    assert expected in message and "\n" not in message, message
    print(message)
    manifests = Path(cfg.paths.manifest_dir).parent
    assert not manifests.exists() or not any(manifests.iterdir())  # no manifests, no temporaries
