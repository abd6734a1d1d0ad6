"""TTS voices from Debian packages (espeak-ng, flite, festival) and speaker synthesis.

A *voice* is an engine plus a base voice; a *speaker* is a voice with its own rate, pitch,
resampling warp and gain. Base voices are partitioned between splits, so dev and test speakers
are voices never heard in training. Synthesis runs the engines as subprocesses; each sentence is
synthesised on its own, trimmed of silence and resampled to 16 kHz.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from reslstm.data.ami_format import SAMPLE_RATE
from reslstm.data.errors import CorpusError

ESPEAK_ACCENTS = (
    "en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
    "en-029", "en-us-nyc",
)  # fmt: skip
# espeak-ng variants that sound human enough, by gender (variant file name -> gender).
ESPEAK_VARIANTS = {
    **dict.fromkeys(
        "m1 m2 m3 m4 m5 m6 m7 m8 adam Alex Andy antonio benjamin boris caleb david ed edward "
        "Gene gustave Henrique Hugo iven iven2 Jacky john Lee marcelo Marco Mario max Michael "
        "michel miguel Mike Nguyen pablo paul pedro quincy rob robert sandro shelby travis "
        "victor norbert grandpa".split(),
        "M",
    ),
    **dict.fromkeys(
        "f1 f2 f3 f4 f5 Alicia Andrea Annie aunty belinda linda steph steph2 anika grandma".split(),
        "F",
    ),
}
# Variants held out of training: dev and test speakers use only these.
HELD_OUT_VARIANTS = {
    "dev": ("m3", "Hugo", "paul", "f2", "linda"),
    "test": ("m6", "david", "quincy", "f4", "Annie"),
}
# Non-espeak base voices per split: (engine, voice, gender).
OTHER_VOICES = {
    "train": (("flite", "awb", "M"), ("flite", "rms", "M"), ("flite", "kal16", "M"),
              ("festival", "kal_diphone", "M")),
    "dev": (("flite", "slt", "F"),),
    "test": (("festival", "ked_diphone", "M"), ("festival", "cmu_us_slt_arctic_hts", "F")),
}  # fmt: skip
# Flite voices whose pitch can be set (int_f0_target_mean); the others get only the warp.
FLITE_PITCHED = frozenset({"awb", "slt", "kal16"})


@dataclass(frozen=True)
class Voice:
    """A base voice of one engine (espeak-ng names are ``accent+variant``)."""

    engine: str
    name: str
    gender: str


@dataclass(frozen=True)
class Speaker:
    """A synthetic meeting participant: a voice plus personal prosody and level."""

    global_name: str
    voice: Voice
    rate: float  # relative speaking rate (1 = engine default)
    pitch: float  # espeak-ng pitch 0-99, or flite f0 mean in Hz (ignored for other voices)
    warp: float  # resampling warp: >1 raises pitch and tempo
    gain: float


def voices_for(split: str) -> list[Voice]:
    """All base voices a speaker of ``split`` may use (disjoint between splits)."""
    held_out = {v for names in HELD_OUT_VARIANTS.values() for v in names}
    variants = (
        HELD_OUT_VARIANTS[split] if split != "train" else sorted(set(ESPEAK_VARIANTS) - held_out)
    )
    espeak = [
        Voice("espeak-ng", f"{accent}+{variant}", ESPEAK_VARIANTS[variant])
        for accent in ESPEAK_ACCENTS
        for variant in variants
    ]
    return espeak + [Voice(*v) for v in OTHER_VOICES[split]]


def draw_speaker(global_index: int, voice: Voice, rng: np.random.Generator) -> Speaker:
    """A speaker with prosody drawn from ``rng``; the name's first letter is the gender."""
    if voice.engine == "flite":
        pitch = rng.uniform(95, 135) if voice.gender == "M" else rng.uniform(160, 210)
    else:
        pitch = rng.uniform(30, 70)
    return Speaker(
        global_name=f"{voice.gender}SY{global_index:03d}",
        voice=voice,
        rate=round(float(rng.uniform(0.85, 1.15)), 3),
        pitch=round(float(pitch), 1),
        warp=round(float(rng.uniform(0.93, 1.07)), 3),
        gain=round(float(rng.uniform(0.5, 1.0)), 3),
    )


def synthesize(speaker: Speaker, texts: list[str]) -> list[np.ndarray]:
    """Synthesise each text with ``speaker``'s voice: float32 mono at 16 kHz, silence trimmed."""
    with tempfile.TemporaryDirectory(prefix="reslstm-tts-") as tmp:
        paths = [Path(tmp) / f"{i}.wav" for i in range(len(texts))]
        if speaker.voice.engine == "festival":
            _festival(speaker, texts, paths, Path(tmp) / "script.scm")
        else:
            for text, path in zip(texts, paths, strict=True):
                _run(_command(speaker, text, path))
        return [_postprocess(speaker, path) for path in paths]


def _command(speaker: Speaker, text: str, path: Path) -> list[str]:
    voice = speaker.voice
    if voice.engine == "espeak-ng":
        return ["espeak-ng", "-v", voice.name, "-s", str(round(165 * speaker.rate)),
                "-p", str(round(speaker.pitch)), "-w", str(path), text]  # fmt: skip
    cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={1 / speaker.rate:.3f}"]
    if voice.name in FLITE_PITCHED:
        cmd += ["--setf", f"int_f0_target_mean={speaker.pitch:.1f}"]
    return cmd + ["-t", text, "-o", str(path)]


def _festival(speaker: Speaker, texts: list[str], paths: list[Path], script: Path) -> None:
    """Synthesise all texts in one festival process (its start-up costs ~0.5 s)."""
    lines = [f"(voice_{speaker.voice.name})",
             f"(Parameter.set 'Duration_Stretch {1 / speaker.rate:.3f})"]  # fmt: skip
    for text, path in zip(texts, paths, strict=True):
        quoted = text.replace("\\", "").replace('"', "")
        lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{path}" \'riff)')
    script.write_text("\n".join(lines) + "\n")
    _run(["festival", "-b", str(script)])


def _run(cmd: list[str]) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    except FileNotFoundError as e:
        raise CorpusError(
            f"TTS engine `{cmd[0]}` not found: install the Debian packages with "
            "scripts/setup_env.sh (espeak-ng, flite, festival and its voices)"
        ) from e
    except subprocess.CalledProcessError as e:
        stderr = e.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise CorpusError(f"TTS command failed: {' '.join(cmd[:4])}...: {stderr[0]}") from e


def _postprocess(speaker: Speaker, path: Path) -> np.ndarray:
    """Read, downmix, warp-resample to 16 kHz, trim silence, apply the speaker's gain."""
    if not path.is_file() or path.stat().st_size == 0:
        raise CorpusError(f"TTS produced no audio at {path} for voice {speaker.voice.name}")
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    ratio = Fraction(SAMPLE_RATE / (rate * speaker.warp)).limit_denominator(200)
    audio = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
    audio = trim_silence(audio)
    peak = float(np.abs(audio).max()) or 1.0
    return (audio * (speaker.gain * 0.7 / peak)).astype(np.float32)


def trim_silence(audio: np.ndarray, threshold_db: float = -40.0, pad: float = 0.02) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``threshold_db`` below the peak."""
    frame = SAMPLE_RATE // 100
    n = len(audio) // frame
    if n == 0:
        return audio
    energy = (audio[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    loud = np.flatnonzero(energy > energy.max() * 10 ** (threshold_db / 10))
    margin = int(pad * SAMPLE_RATE)
    start = max(0, loud[0] * frame - margin)
    end = min(len(audio), (loud[-1] + 1) * frame + margin)
    return audio[start:end]
