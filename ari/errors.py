"""What can go wrong talking to Asterisk, as exceptions that say what and where."""

from __future__ import annotations


class AriError(Exception):
    """Base class: anything the ARI client raises."""


class AriHttpError(AriError):
    """Asterisk answered a request with an error status; carries its status and message."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {message}")
        self.method, self.path, self.status, self.message = method, path, status, message


class AriNotFound(AriHttpError):
    """404: the channel, bridge, playback or recording does not exist (any more)."""


class AriConflict(AriHttpError):
    """409/412/422: the resource is in the wrong state (not in Stasis, not answered...)."""


class AriUnavailable(AriError):
    """Asterisk cannot be reached (connection refused, timeout, HTTP link down). ``sent`` is False
    when the request never left (connection refused): Asterisk cannot have acted on it."""

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


def http_error(method: str, path: str, status: int, message: str) -> AriHttpError:
    if status == 404:
        return AriNotFound(method, path, status, message)
    if status in (409, 412, 422):
        return AriConflict(method, path, status, message)
    return AriHttpError(method, path, status, message)
