"""What an operator chooses about recognition (nested in Settings: MINIBOT_WHISPER__SIZE=small, ...)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

WhisperSize = Literal["tiny", "base", "small", "medium", "large-v3", "large-v3-turbo"]


class WhisperConfig(BaseModel):
    """Local Whisper (faster-whisper / CTranslate2). French is forced: a caller's short "oui"
    is too little audio for language detection, which then guesses English or Italian."""

    size: WhisperSize = Field("base", description="base ships with MiniBot; others: minibot models pull whisper-<size>")
    device: Literal["cpu", "cuda"] = Field("cpu", description="cpu, or cuda (a GPU with CUDA 12 and cuDNN 9)")
    compute_type: str = Field("int8", description="int8 (CPU), float16 or int8_float16 (GPU)")
    beam_size: int = Field(1, ge=1, le=10, description="1: greedy, fastest; 5: a little more accurate, ~3x CPU")
    cpu_threads: int = Field(1, ge=1, description="CTranslate2 threads per decode")
    guess_after_ms: int = Field(200, ge=0, description="caller's silence after which what they said is decoded, in "
                                "case the turn ends there (0: decode only once it has ended)")
    # Off by default: measured on the loaded 2-core machine it doubled the CPU per audio second
    # and lengthened finals (bench.asr); turn it on where cores are to spare.
    streaming: bool = Field(False, description="re-decode the growing utterance while the caller speaks")
    stride: float = Field(0.6, ge=0.2, le=5.0, description="seconds of new audio between two re-decodes")
    # Off by default: on Whisper base at 8 kHz (bench.asr's clip set) the prompt recovered 1 of 5
    # names said and wrote prompt words nobody said ("Non." heard "Lundi."); the guard re-decodes
    # those, but what is left is no better than no prompt. Worth trying with small and larger.
    vocabulary: bool = Field(False, description="the scenario's names and callback times in Whisper's prompt "
                             "(guarded: a decode that reads the prompt back is done again without it)")

    def summary(self) -> str:
        """The settings that decide speed and accuracy, as benchmarks quote them."""
        return (f"Whisper {self.size} {self.compute_type} beam {self.beam_size}, "
                f"decoding in pauses of {self.guess_after_ms} ms, re-decoding while speaking: {self.streaming}, "
                f"scenario vocabulary in the prompt: {self.vocabulary}")
