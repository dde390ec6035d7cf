"""bench.calls names the recogniser behind its figures and never files a stand-in's as a recogniser's."""

from bench.calls import label, recogniser


def test_a_stand_ins_figures_are_kept_apart():
    figures = {"calls": 6, "asr": "vosk-server", "completed": 6, "turn_latency_p95_ms": 210.0, "frames_lost": 0}
    out = label(figures, recogniser("vosk-server", stand_in=True, detail="French stand-in, rtf 0.3"))
    assert "turn_latency_p95_ms" not in out and out["stand_in_figures"]["turn_latency_p95_ms"] == 210.0
    assert out["recogniser"]["stand_in"] is True and "not a recogniser's figures" in out["warning"]


def test_a_real_recognisers_figures_name_it():
    figures = {"calls": 3, "asr": "wyoming", "turn_latency_p95_ms": 900.0}
    out = label(figures, recogniser("wyoming", stand_in=False, detail="wyoming-faster-whisper"))
    assert out["turn_latency_p95_ms"] == 900.0 and out["recogniser"]["detail"] == "wyoming-faster-whisper"
    assert "stand_in_figures" not in out
