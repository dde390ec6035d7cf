"""Threads for work that must yield the cores to the real-time frame path (recognition,
rendering lines ahead): they run at a lower scheduling priority, and so do the processes they
start (a child inherits its thread's niceness)."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor


def low_priority_executor(threads: int, nice: int, prefix: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix=prefix, initializer=_lower_priority, initargs=(nice,))


def _lower_priority(nice: int) -> None:
    # On Linux a thread id names one thread for setpriority; raising nice needs no privilege.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
