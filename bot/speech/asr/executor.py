"""The executor recognition runs in.

Recognition shares the machine's cores with the real-time frame path (AudioSocket reads,
VAD, barge-in). When calls outnumber what the recogniser can keep up with, recognition
must fall behind, not the frames: its threads run at a lower scheduling priority, and so does
the Vosk decoder, which runs on them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor


def recognition_executor(threads: int, nice: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="asr", initializer=_lower_priority, initargs=(nice,))


def _lower_priority(nice: int) -> None:
    # On Linux a thread id names one thread for setpriority; raising nice needs no privilege.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
