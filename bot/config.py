"""One typed settings object, from the environment (prefix MINIBOT_) or a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .speech.bargein import BargeInConfig
from .speech.vad import VadConfig


def _user_cache() -> Path:
    return Path.home() / ".cache" / "minibot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINIBOT_", env_file=".env", env_nested_delimiter="__", extra="ignore")

    cache_dir: Path = Field(default_factory=_user_cache, description="assembled models, rendered audio")
    models_dir: Path | None = Field(None, description="downloaded models (default: <cache_dir>/models)")
    asr: Literal["whisper", "vosk"] = "whisper"
    vosk_model: Path | None = Field(None, description="a Vosk model directory (default: vosk-fr if pulled)")
    asr_threads: int = Field(2, ge=1, description="executor threads for recognition")
    asr_nice: int = Field(10, ge=0, le=19, description="scheduling niceness of recognition threads")
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9093
    vad: VadConfig = VadConfig()
    barge_in: BargeInConfig = BargeInConfig()

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.cache_dir / "models"
