"""`minibot models pull`: download, verify and unpack, against a local HTTP server."""

import hashlib
import io
import json
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.speech.asr.models import ModelError, pull_vosk_model


def _model_zip(top="vosk-model-small-fr-0.22", evil=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{top}/am/final.mdl", b"model")
        z.writestr(f"{top}/conf/mfcc.conf", "--sample-frequency=16000\n")
        if evil:
            z.writestr("../../escape.txt", b"x")
    return buf.getvalue()


@pytest.fixture
def http(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _publish(root, base, blob, md5=None, size=None):
    (root / "m.zip").write_bytes(blob)
    listing = [{"name": "vosk-model-small-fr-0.22", "url": f"{base}/m.zip",
                "md5": md5 or hashlib.md5(blob).hexdigest(), "size": size or len(blob)}]
    (root / "list.json").write_text(json.dumps(listing))
    return f"{base}/list.json"


def test_pull_downloads_verifies_and_unpacks(http, tmp_path):
    root, base = http
    list_url = _publish(root, base, _model_zip())
    seen = []
    path = pull_vosk_model("vosk-fr", tmp_path / "models", list_url=list_url, progress=lambda d, t: seen.append(d))
    assert path == tmp_path / "models" / "vosk-model-small-fr-0.22"
    assert (path / "am" / "final.mdl").read_bytes() == b"model"
    assert seen[-1] == len(_model_zip())
    assert [p.name for p in (tmp_path / "models").iterdir()] == [path.name]  # no temp left


def test_checksum_mismatch_is_refused_and_leaves_nothing(http, tmp_path):
    root, base = http
    list_url = _publish(root, base, _model_zip(), md5="0" * 32)
    with pytest.raises(ModelError, match="MD5 .* ne correspond pas"):
        pull_vosk_model("vosk-fr", tmp_path / "models", list_url=list_url)
    assert list((tmp_path / "models").iterdir()) == []


def test_archive_escaping_its_folder_is_refused(http, tmp_path):
    root, base = http
    list_url = _publish(root, base, _model_zip(evil=True))
    with pytest.raises(ModelError, match="hors de"):
        pull_vosk_model("vosk-fr", tmp_path / "models", list_url=list_url)
    assert not (tmp_path / "escape.txt").exists()


def test_unknown_model_and_unreachable_list_say_so(http, tmp_path):
    root, base = http
    list_url = _publish(root, base, _model_zip())
    with pytest.raises(ModelError, match="aucun modèle nommé vosk-model-xx"):
        pull_vosk_model("vosk-model-xx", tmp_path, list_url=list_url)
    with pytest.raises(ModelError, match="impossible de lire la liste des modèles Vosk"):
        pull_vosk_model("vosk-fr", tmp_path, list_url=f"{base}/missing.json")
