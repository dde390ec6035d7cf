"""The executor recognition runs in.

Recognition shares the machine's cores with the real-time frame path (AudioSocket reads,
VAD, barge-in). When calls outnumber what the recogniser can keep up with, recognition
must fall behind, not the frames: its threads run at a lower scheduling priority, and so does
the Vosk decoder, which runs on them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ...ops.priority import low_priority_executor


def recognition_executor(threads: int, nice: int) -> ThreadPoolExecutor:
    return low_priority_executor(threads, nice, "asr")
