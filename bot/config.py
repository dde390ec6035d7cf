"""One typed settings object, from the environment (prefix MINIBOT_) or a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .speech.asr.settings import WhisperConfig
from .speech.bargein import BargeInConfig
from .speech.turn import TurnConfig
from .speech.vad import VadConfig


def _user_cache() -> Path:
    return Path.home() / ".cache" / "minibot"


def _user_data() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("minibot"))


class AriSettings(BaseModel):
    url: str = Field("http://127.0.0.1:8088/ari", description="Asterisk's ARI base URL")
    username: str = "minibot"
    password: SecretStr = Field(SecretStr(""), description="ARI password (ari.conf); never logged")
    app: str = Field("minibot", description="the Stasis application name")


class DialSettings(BaseModel):
    endpoint_template: str = Field("PJSIP/{number}@trunk", description="how a number becomes an endpoint")
    caller_id: str | None = Field(None, description='presented caller id, e.g. "Agence <+33162000000>"')
    ring_timeout: int = Field(30, ge=5, le=120, description="seconds of ringing before no-answer")
    amd_context: str = Field("minibot-amd", description="dialplan context running AMD()")
    inbound_context: str = Field("minibot-inbound", description="dialplan context the trunk sends inbound calls to "
                                 "(context= of its endpoint in pjsip.conf); `minibot doctor` checks it")
    record: bool = Field(True, description="record both sides of every answered call")
    agent_endpoint: str | None = Field(None, description="where 'transfert d'appel' sends the caller")


class LlmSettings(BaseModel):
    """The local LLM (Ollama): NLU fallback and free answers. Off unless enabled."""

    enabled: bool = Field(False, description="use Ollama at all")
    ollama_url: str = Field("http://127.0.0.1:11434", description="Ollama base URL")
    model: str = Field("qwen2.5:3b-instruct", description="an Ollama model tag (ollama pull <model>)")
    timeout: float = Field(1.5, gt=0, le=30, description="seconds an NLU classification may take")
    freestyle_timeout: float = Field(4.0, gt=0, le=60, description="seconds a free answer may take")
    keep_alive: str = Field("30m", description="how long Ollama keeps the model loaded after a call")


class TtsSettings(BaseModel):
    """The bot's voice: which engine renders lines, and where the rendered audio lives."""

    engine: str = Field("auto", description="auto (piper with a French voice pulled, else espeak), espeak, "
                        "piper, kokoro, xtts (cloned voices), wyoming (servers in MINIBOT_WYOMING_TTS)")
    voice: str | None = Field(None, description="the engine's voice (default: the engine's own)")
    audio_dir: Path | None = Field(None, description="rendered audio cache (default: <cache_dir>/audio)")
    cache_max_mb: int = Field(2048, ge=10, description="size cap of the audio cache; least recently used go first")
    xtts_model_dir: Path | None = Field(None, description="XTTS v2 weights (non-commercial licence)")
    xtts_voices_dir: Path | None = Field(None, description="reference recordings <voice>.wav for XTTS cloning")
    http_port: int | None = Field(None, description="serve the audio cache over HTTP on this port (remote Asterisk)")
    http_host: str = Field("127.0.0.1", description="address the audio HTTP server listens on")
    http_url: str | None = Field(None, description="base URL Asterisk fetches audio from, e.g. http://10.0.0.5:8090")
    ambience: str | None = Field(None, description="room loop under rendered lines: audio/ambience/<name> or a WAV")
    ambience_db: float = Field(-8.0, ge=-40, le=0, description="the loop's level relative to the voice's speech, dB")


class DialerSettings(BaseModel):
    """The campaign dialer of a `minibot serve` (role calls)."""

    max_calls: int = Field(10, ge=1, description="simultaneous calls this worker carries")
    max_total_calls: int | None = Field(None, ge=1, description="simultaneous calls across every worker")
    drain_seconds: float = Field(120.0, ge=0, description="on shutdown, how long calls in progress may go on")
    inbound_scenario: str | None = Field(None, description="the scenario inbound calls run (unset: inbound refused)")


class ApiSettings(BaseModel):
    """The HTTP API, /health, /metrics and the dashboard (`minibot serve`)."""

    host: str = Field("127.0.0.1", description="address the API listens on")
    port: int = Field(8080, ge=0, le=65535, description="the API's port (0: any free port)")
    key: SecretStr | None = Field(None, description="X-API-Key for /api/*; unset: /api/* answers 401")


Language = Literal["fr", "en"]


def _language_code(value: object) -> object:
    """'fr_FR.UTF-8' or ' EN ' name a language too: its first two letters, lower case."""
    return value.strip().lower()[:2] if isinstance(value, str) else value


class LanguageSetting(BaseSettings):
    """MINIBOT_LANGUAGE alone, from the same sources as Settings (environment, then .env). Read apart
    so that printing an error about another setting never fails on that other setting; an unknown
    value reads as French here (Settings itself refuses it, saying which values it takes)."""

    model_config = SettingsConfigDict(env_prefix="MINIBOT_", env_file=".env", extra="ignore")

    language: str = "fr"

    @field_validator("language", mode="before")
    @classmethod
    def _code(cls, value: object) -> object:
        code = _language_code(value)
        return code if code in ("fr", "en") else "fr"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINIBOT_", env_file=".env", env_nested_delimiter="__", extra="ignore")

    language: Language = Field("fr", description="what people read (CLI, dashboard, exports): fr or en")

    database_url: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "MINIBOT_DATABASE_URL"),
        description="postgresql://user:password@host/db; unset: the embedded PostgreSQL in <data_dir>/postgres")
    data_dir: Path = Field(default_factory=_user_data, description="the embedded database (<data_dir>/postgres)")
    recordings_dir: Path = Field(Path("/var/spool/asterisk/recording"),
                                 description="where Asterisk writes call recordings (retention deletes there)")
    cache_dir: Path = Field(default_factory=_user_cache, description="assembled models, rendered audio")
    models_dir: Path | None = Field(None, description="downloaded models (default: <cache_dir>/models)")
    asr: Literal["whisper", "vosk", "vosk-server", "wyoming"] = "whisper"
    whisper: WhisperConfig = WhisperConfig()
    wyoming_asr: str | None = Field(None, description="Wyoming ASR servers for asr=wyoming: "
                                                      "tcp://h1:10300,tcp://h2:10300")
    wyoming_tts: str | None = Field(None, description="Wyoming TTS servers for tts.engine=wyoming: tcp://h:10200,...")
    vosk_model: Path | None = Field(None, description="a Vosk model directory (default: vosk-fr if pulled)")
    vosk_url: str | None = Field(None, description="a vosk-server WebSocket (ws://host:2700), for asr=vosk-server")
    asr_threads: int = Field(2, ge=1, description="executor threads for recognition")
    asr_nice: int = Field(10, ge=0, le=19, description="scheduling niceness of recognition threads")
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9093
    audiosocket_address: str | None = Field(None, description="host:port Asterisk connects to (default host:port)")
    ari: AriSettings = AriSettings()
    dial: DialSettings = DialSettings()
    llm: LlmSettings = LlmSettings()
    tts: TtsSettings = TtsSettings()
    api: ApiSettings = ApiSettings()
    dialer: DialerSettings = DialerSettings()
    vad: VadConfig = VadConfig()
    barge_in: BargeInConfig = BargeInConfig()
    turn: TurnConfig = TurnConfig()

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: object) -> object:
        return _language_code(value)

    @property
    def database_dsn(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.cache_dir / "models"

    @property
    def audio_path(self) -> Path:
        return self.tts.audio_dir or self.cache_dir / "audio"
