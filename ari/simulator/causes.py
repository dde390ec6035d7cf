"""Q.850 hangup causes as Asterisk 22 names them (include/asterisk/causes.h, main/channel.c
``causes[]``), and the two mappings ARI exposes: ``Dial.dialstatus`` and ``DELETE ?reason=``."""

from __future__ import annotations

CAUSE_TEXT: dict[int, str] = {
    1: "Unallocated (unassigned) number",
    2: "No route to specified transmit network",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    58: "Bearer capability not available",
    102: "Recover on timer expiry",
    127: "Interworking, unspecified",
}

NORMAL = 16
BUSY = 17
NO_ANSWER = 19
REJECTED = 21
UNALLOCATED = 1
CONGESTION = 34
SOFTHANGUP_EXPLICIT = 32  # ChannelHangupRequest{soft: true}.cause is this flag, not a Q.850 cause

# DELETE /channels/{id}?reason=... (resource_channels.c convert_reason_to_hangup_code)
HANGUP_REASONS: dict[str, int] = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}


def cause_txt(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


def dialstatus(cause: int) -> str:
    """main/dial.c ast_hangup_cause_to_dial_status: coarse on purpose (21 -> NOANSWER)."""
    if cause == BUSY:
        return "BUSY"
    if cause == CONGESTION:
        return "CONGESTION"
    if cause in (3, 20):
        return "CHANUNAVAIL"
    return "NOANSWER"
