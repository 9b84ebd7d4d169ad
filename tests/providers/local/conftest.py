"""Helpers for the local-provider tests: run a handler once, decode WAVs, transcribe speech offline."""

from __future__ import annotations

import asyncio
import io
import wave
from typing import Any

import numpy as np
import pytest

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProviderHandler
from tutopanda.testing import make_job_context


def run(handler: ProviderHandler, context: JobContext) -> JobResult:
    return asyncio.run(handler.produce(context))


def local_context(
    kind: str, produces: list[tuple[str, str]], inputs: dict[str, Any], **extra: Any
) -> JobContext:
    model = extra.pop("model", "test")
    return make_job_context(
        kind, produces, inputs=inputs, provider="local", model=model, mode="live", **extra
    )


def read_wav(data: bytes) -> tuple[int, int, np.ndarray[Any, np.dtype[np.int16]]]:
    """(sample rate, channels, samples as int16 frames x channels)."""
    with wave.open(io.BytesIO(data), "rb") as reader:
        assert reader.getsampwidth() == 2
        rate, channels = reader.getframerate(), reader.getnchannels()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").reshape(-1, channels)
    return rate, channels, samples


class Transcriber:
    """pocketsphinx's bundled en-us model, fed 16 kHz mono (one decoder reused: loading takes a second)."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=16000, loglevel="FATAL")

    def __call__(self, wav: bytes) -> list[str]:
        rate, _, samples = read_wav(wav)
        mono = samples[:, 0].astype(np.float64)
        count = int(len(mono) * 16000 / rate)
        resampled = np.interp(np.arange(count) * rate / 16000, np.arange(len(mono)), mono)
        self._decoder.start_utt()
        self._decoder.process_raw(resampled.astype("<i2").tobytes(), full_utt=True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        return hypothesis.hypstr.split() if hypothesis is not None else []


@pytest.fixture(scope="session")
def transcribe() -> Transcriber:
    return Transcriber()
