"""Answering-machine detection, transcript side: is the callee a person or a recording?

`classify(AmdEvidence)` weighs what the callee said in the first seconds (ASR transcript),
how long they spoke, and Asterisk's AMD verdict, and leans to "human" when unsure.
`AmdTranscriptLayer` does the same while the greeting is still coming, so the call can act early.
The phrase lists are data, in `phrases.py`.
"""

from .classifier import AMD_STATUSES, AmdEvidence, AmdVerdict, Assessment, Cue, assess, classify, decide, normalize
from .stream import AmdTranscriptLayer

__all__ = [
    "AMD_STATUSES",
    "AmdEvidence",
    "AmdTranscriptLayer",
    "AmdVerdict",
    "Assessment",
    "Cue",
    "assess",
    "classify",
    "decide",
    "normalize",
]
