"""Room acoustics for one meeting: shoe-box room, image-source RIRs, diffuse noise.

Speakers sit around a table at a drawn distance from a table-top microphone; each close-talk
track is convolved with its RIR, the reverberant tracks are summed and pink noise is added at
the drawn SNR. pyroomacoustics' randomised image-source method draws from an unseeded global
RNG, so it is switched off: the same seed gives the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyroomacoustics as pra
from scipy.signal import fftconvolve

from reslstm.data.ami_format import SAMPLE_RATE

TABLE_HEIGHT = 0.75
MIC_HEIGHT = TABLE_HEIGHT + 0.05
WALL_MARGIN = 0.4


@dataclass(frozen=True)
class Acoustics:
    """Ranges the per-meeting acoustic conditions are drawn from."""

    room_x: tuple[float, float]
    room_y: tuple[float, float]
    room_z: tuple[float, float]
    rt60: tuple[float, float]
    distance: tuple[float, float]
    snr_db: tuple[float, float]


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def simulate(
    tracks: list[np.ndarray], acoustics: Acoustics, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Far-field mixture of the close-talk ``tracks`` (equal lengths) and its room conditions."""
    dims = np.array([_uniform(rng, b) for b in (acoustics.room_x, acoustics.room_y,
                                                acoustics.room_z)])  # fmt: skip
    rt60 = _uniform(rng, acoustics.rt60)
    absorption, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(
        dims, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=max_order,
        use_rand_ism=False, air_absorption=False,
    )  # fmt: skip
    mic = np.array([dims[0] / 2, dims[1] / 2, MIC_HEIGHT])
    room.add_microphone(mic)
    offset = rng.uniform(0, 2 * np.pi)
    distances = []
    for k in range(len(tracks)):
        angle = offset + 2 * np.pi * k / len(tracks) + rng.uniform(-0.3, 0.3)
        direction = np.array([np.cos(angle), np.sin(angle)])
        # Largest horizontal distance that keeps the speaker WALL_MARGIN from the walls.
        reach = min((dims[i] / 2 - WALL_MARGIN) / max(abs(direction[i]), 1e-9) for i in (0, 1))
        distance = min(_uniform(rng, acoustics.distance), reach)
        xy = mic[:2] + distance * direction
        room.add_source([xy[0], xy[1], rng.uniform(1.1, 1.3)])
        distances.append(round(distance, 2))
    room.compute_rir()
    length = len(tracks[0])
    mix = np.zeros(length, dtype=np.float64)
    for track, source_rirs in zip(tracks, room.rir[0], strict=True):
        mix += fftconvolve(track, source_rirs)[:length]
    snr_db = _uniform(rng, acoustics.snr_db)
    mix += _noise_at_snr(mix, snr_db, rng)
    info = {
        "room_m": [round(float(d), 2) for d in dims],
        "rt60_s": round(rt60, 3),
        "distances_m": distances,
        "snr_db": round(snr_db, 1),
    }
    return mix.astype(np.float32), info


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance 1/f noise (white noise shaped in the frequency domain)."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    noise = np.fft.irfft(spectrum, n=length)
    return noise / (noise.std() or 1.0)


def _noise_at_snr(signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Pink noise scaled to ``snr_db`` below the power of the signal's active (speech) frames."""
    frame = SAMPLE_RATE // 100
    n = len(signal) // frame
    power = (signal[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    active = power[power > power.max() * 1e-3]
    speech_power = float(active.mean()) if active.size else 1e-8
    return pink_noise(len(signal), rng) * np.sqrt(speech_power / 10 ** (snr_db / 10))
