"""`minibot models pull whisper-<size>` / `piper-fr-<voice>`: files listed with their sha256 (or git
blob id) by the hub's tree API, downloaded and checked, against a local HTTP server."""

import hashlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.speech.asr.models import ModelError, installed_whisper, pull_model


@pytest.fixture
def hub(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _publish(root, repo, subdir, files: dict[str, bytes], *, lie: str | None = None):
    """Files under <repo>/resolve/main/<path>, and the tree listing the hub's API gives."""
    listing = []
    for name, blob in files.items():
        path = f"{subdir}/{name}" if subdir else name
        out = root / repo / "resolve" / "main" / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(blob)
        entry = {"type": "file", "path": path, "size": len(blob)}
        if name.endswith((".bin", ".onnx")):  # large files live in LFS: the listing gives their sha256
            entry["oid"] = "0" * 40
            entry["lfs"] = {"oid": "f" * 64 if lie == name else hashlib.sha256(blob).hexdigest(), "size": len(blob)}
        else:
            git = hashlib.sha1(f"blob {len(blob)}\0".encode() + blob).hexdigest()  # noqa: S324
            entry["oid"] = "0" * 40 if lie == name else git
        listing.append(entry)
    listing.append({"type": "directory", "path": "sub"})
    tree = root / "api" / "models" / repo / "tree"
    if subdir:  # /tree/main/<subdir>: a directory, served as its index.html (after a redirect)
        (tree / "main" / subdir).mkdir(parents=True, exist_ok=True)
        (tree / "main" / subdir / "index.html").write_text(json.dumps(listing))
    else:
        tree.mkdir(parents=True, exist_ok=True)
        (tree / "main").write_text(json.dumps(listing))


WHISPER_FILES = {"model.bin": b"weights" * 1000, "config.json": b"{}", "tokenizer.json": b"{\"t\": 1}",
                 "vocabulary.txt": b"a\nb\n", "README.md": b"# readme"}


def test_pull_whisper_small_downloads_and_verifies(hub, tmp_path):
    root, base = hub
    _publish(root, "Systran/faster-whisper-small", "", WHISPER_FILES)
    seen = []
    path = pull_model("whisper-small", tmp_path / "models", base_url=base, progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / "models" / "whisper-small"
    assert (path / "model.bin").read_bytes() == WHISPER_FILES["model.bin"]
    assert not (path / "README.md").exists()
    assert seen[-1][0] == seen[-1][1] == sum(len(b) for n, b in WHISPER_FILES.items() if n != "README.md")
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["whisper-small"]  # no temp left
    assert installed_whisper(tmp_path / "models", tmp_path, "small") == path


@pytest.mark.parametrize("lie", ["model.bin", "config.json"])
def test_a_checksum_mismatch_is_refused_and_leaves_nothing(hub, tmp_path, lie):
    root, base = hub
    _publish(root, "Systran/faster-whisper-tiny", "", WHISPER_FILES, lie=lie)
    with pytest.raises(ModelError, match="ne correspond pas à celui de la liste"):
        pull_model("whisper-tiny", tmp_path / "models", base_url=base)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_failed_pull_keeps_the_installed_copy(hub, tmp_path):
    root, base = hub
    _publish(root, "Systran/faster-whisper-small", "", WHISPER_FILES)
    path = pull_model("whisper-small", tmp_path / "models", base_url=base)
    _publish(root, "Systran/faster-whisper-small", "", {**WHISPER_FILES, "model.bin": b"new"}, lie="model.bin")
    with pytest.raises(ModelError):
        pull_model("whisper-small", tmp_path / "models", base_url=base)
    assert (path / "model.bin").read_bytes() == WHISPER_FILES["model.bin"]


def test_pull_a_french_piper_voice(hub, tmp_path):
    root, base = hub
    files = {"fr_FR-siwis-medium.onnx": b"onnx" * 500, "fr_FR-siwis-medium.onnx.json": b"{\"audio\": {}}",
             "MODEL_CARD": b"# Model card\n* License: CC BY 4.0\n"}
    _publish(root, "rhasspy/piper-voices", "fr/fr_FR/siwis/medium", files)
    path = pull_model("piper-fr-siwis-medium", tmp_path / "models", base_url=base)
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith(".")) == sorted(files)

    from bot.speech.tts.piper import french_voices
    from bot.speech.tts.registry import default_engine

    assert list(french_voices(tmp_path / "models")) == ["fr_FR-siwis-medium"]
    assert default_engine(tmp_path / "models") == "piper"  # a French Piper voice present: the default
    assert default_engine(tmp_path / "empty") == "espeak"


def test_missing_files_and_unknown_names_are_clear(hub, tmp_path):
    root, base = hub
    _publish(root, "Systran/faster-whisper-medium", "", {"config.json": b"{}"})
    with pytest.raises(ModelError, match="il manque model.bin"):
        pull_model("whisper-medium", tmp_path / "models", base_url=base)
    with pytest.raises(ModelError, match="modèle inconnu 'whisper-huge'"):
        pull_model("whisper-huge", tmp_path / "models", base_url=base)
    with pytest.raises(ModelError, match="impossible de lire la liste des fichiers"):
        pull_model("whisper-large-v3", tmp_path / "models", base_url=base)
    with pytest.raises(ModelError, match="minibot models pull whisper-small"):
        installed_whisper(tmp_path / "models", tmp_path, "small")


def test_the_cli_pulls_whisper_small(hub, tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    root, base = hub
    _publish(root, "Systran/faster-whisper-small", "", WHISPER_FILES)
    result = CliRunner().invoke(app, ["models", "pull", "whisper-small", "--dest", str(tmp_path / "m"),
                                      "--hub-url", base])
    assert result.exit_code == 0, result.output
    assert "MINIBOT_WHISPER__SIZE=small" in result.output
    _publish(root, "Systran/faster-whisper-small", "", WHISPER_FILES, lie="model.bin")
    result = CliRunner().invoke(app, ["models", "pull", "whisper-small", "--dest", str(tmp_path / "m"),
                                      "--hub-url", base])
    assert result.exit_code == 1 and "sha256" in result.output


def test_whisper_settings_say_what_is_missing(tmp_path):
    from bot.speech.asr import AsrUnavailable, load_recognizer
    from bot.speech.asr.settings import WhisperConfig

    with pytest.raises(AsrUnavailable, match="lancer minibot models pull whisper-small"):
        load_recognizer("whisper", cache_dir=tmp_path, models_dir=tmp_path / "models", vosk_model=None,
                        executor=None, whisper=WhisperConfig(size="small"))
    with pytest.raises(ValueError):
        WhisperConfig(size="huge")
