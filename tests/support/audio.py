"""WAV files: written for recordings the tests seed, measured in the ones Asterisk writes."""

from __future__ import annotations

import array
import math
import time
import wave
from pathlib import Path


def write_wav(path: Path, seconds: float = 0.5, rate: int = 8000) -> int:
    """A real (quiet sawtooth) 8 kHz mono WAV; returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = bytearray()
    for n in range(int(seconds * rate)):
        value = ((n * 440 * 2 * 32767) // rate) % 65535 - 32767
        frames += int(value // 8).to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return path.stat().st_size


def rms(path: Path) -> float:
    """Root mean square of a 16-bit PCM wav file (no audioop: gone in Python 3.13)."""
    with wave.open(str(path)) as handle:
        assert handle.getsampwidth() == 2, handle.getparams()
        samples = array.array("h", handle.readframes(handle.getnframes()))
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def wait_for_file(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 44:
            return
        time.sleep(0.1)
