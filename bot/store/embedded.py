"""The embedded PostgreSQL: when no DATABASE_URL is set, MiniBot runs its own server through
the `pgserver` package (PostgreSQL binaries in a wheel), its data in a user data directory.

pgserver counts the processes using a data directory and stops the server when the last one
leaves, so a CLI command beside a running `minibot serve` shares the same server. Within one
process it does not count: its first cleanup stops the server under every other pool of that
process. So handles are counted here, and pgserver is left only when the last one closes.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..i18n import _

log = logging.getLogger(__name__)
# platformdirs (under pgserver) warns on every start when XDG_RUNTIME_DIR is unset (root, containers):
# it falls back to /tmp by itself, so the warning only clutters the demo and the CLI.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


@dataclass
class _Shared:
    server: object
    url: str
    users: int = 0


_shared: dict[Path, _Shared] = {}
_lock = threading.Lock()


class EmbeddedUnavailable(RuntimeError):
    """The embedded server could not start; the message says why and what to do instead."""


def start_embedded(data_dir: Path) -> tuple[object, str]:
    """Start (or join) the server on `data_dir`; returns the handle and its connection URL.
    Blocking (initdb the first time, about a second after): call it from a thread."""
    key = data_dir.resolve()
    with _lock:
        shared = _shared.get(key)
        if shared is None:
            server, url = _start(data_dir)
            shared = _shared[key] = _Shared(server, url)
        shared.users += 1
        return key, shared.url


def stop_embedded(handle: object) -> None:
    """Leave the server; it stops when no pool of this process nor any other process uses it."""
    with _lock:
        shared = _shared.get(handle)
        if shared is None:
            return
        shared.users -= 1
        if shared.users > 0:
            return
        del _shared[handle]
    try:
        shared.server.cleanup()
    except Exception as exc:  # pragma: no cover - best effort at exit
        log.warning("embedded PostgreSQL cleanup: %s", exc)


def _start(data_dir: Path) -> tuple[object, str]:
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise EmbeddedUnavailable(_("la base PostgreSQL intégrée a besoin du paquet pgserver ; sinon régler "
                                    "DATABASE_URL")) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    except Exception as exc:
        raise EmbeddedUnavailable(
            f"the embedded PostgreSQL did not start in {data_dir}: {exc} "
            "(set DATABASE_URL to use another server)") from exc
    log.info("embedded PostgreSQL in %s", data_dir)
    return server, server.get_uri()

