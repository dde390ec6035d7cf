"""The local LLM behind a small protocol: `ChatModel`, its Ollama implementation, a circuit breaker."""

from .breaker import CircuitBreaker
from .chat import ChatModel, LlmFailure, LlmUnavailable
from .health import HealthLog
from .ollama_chat import OllamaChat

__all__ = ["ChatModel", "CircuitBreaker", "HealthLog", "LlmFailure", "LlmUnavailable", "OllamaChat"]
