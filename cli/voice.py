"""`minibot voice`: cloned voices for XTTS, from a reference recording.

    minibot voice clone julie.flac --name julie     # check, clean, store <voices dir>/julie.wav + .json
    minibot voice list

The voices directory is MINIBOT_TTS__XTTS_VOICES_DIR, or <cache_dir>/voices when unset. A refused
recording exits 1 with every reason, each naming the measured value and the limit.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.i18n import _

voice_app = typer.Typer(help="Voix clonées (XTTS) : vérifier, nettoyer et ranger les enregistrements de référence.",
                        no_args_is_help=True)
console = Console(soft_wrap=True)  # paths and reasons stay on one line, whatever the terminal width


def _measured(m, limits) -> str:
    pitch = f"{m.pitch_hz:.0f} Hz" if m.pitch_hz else _("hauteur introuvable")
    return _("parole {speech} s ({min_speech}–{max_speech}), saturation {clipped} (max {max_clipped}), "
             "SNR {snr} dB (min {min_snr}, bruit estimé sur {noise}), niveau de parole {level} dBFS (min {min_level}), "
             "hauteur {pitch}, écart entre segments {spread} demi-tons (max {max_spread})").format(
        speech=f"{m.speech_s:.1f}", min_speech=f"{limits.min_speech_s:.0f}", max_speech=f"{limits.max_speech_s:.0f}",
        clipped=f"{m.clipped_ratio:.3%}", max_clipped=f"{limits.max_clipped_ratio:.1%}", snr=f"{m.snr_db:.1f}",
        min_snr=f"{limits.min_snr_db:.0f}", noise=m.noise_estimate.replace('_', ' '), level=f"{m.speech_dbfs:.1f}",
        min_level=f"{limits.min_speech_dbfs:.0f}", pitch=pitch, spread=f"{m.pitch_spread_st:.1f}",
        max_spread=f"{limits.max_pitch_spread_st:.0f}")


def _step(step: dict) -> str:
    kind = step["step"]
    if kind == "mono_mix":
        return _("{n} canaux mélangés en mono").format(n=step['channels'])
    if kind == "resample":
        return _("rééchantillonné {src} → {dst} Hz").format(src=step['from_hz'], dst=step['to_hz'])
    if kind == "noise_reduction":
        return _("réduction de bruit ({method}, force {strength}, profil : {profile})").format(
            method=step['method'], strength=step['prop_decrease'], profile=step['noise_profile'])
    if kind == "trim":
        return _("coupé {start} s au début, {end} s à la fin").format(start=f"{step['start_s']:.2f}",
                                                                     end=f"{step['end_s']:.2f}")
    if kind == "shorten_pauses":
        return _("{n} pause(s) de plus de {over} s raccourcie(s) (−{removed} s)").format(
            n=step['pauses'], over=step['longer_than_s'], removed=f"{step['removed_s']:.2f}")
    if kind == "loudness":
        start = "?" if step["from_lufs"] is None else f"{step['from_lufs']:.1f}"
        return _("sonie {start} → {end} LUFS").format(start=start, end=f"{step['to_lufs']:.1f}")
    if kind == "peak_limit":
        return _("crêtes limitées à {ceiling} dBFS ({n} échantillons)").format(
            ceiling=f"{step['ceiling_dbfs']:.0f}", n=step['samples_over'])
    return kind


@voice_app.command()
def clone(
    ref: Path = typer.Argument(..., metavar="RÉFÉRENCE", help="enregistrement de référence : wav, flac, ogg ou mp3 ; "
                               "6 à 30 s d'une seule voix, propre"),
    name: str = typer.Option(..., "--name", help="le nom de la voix : minuscules, chiffres, _ ou -"),
    force: bool = typer.Option(False, "--force", help="remplacer une voix de ce nom"),
) -> None:
    """Vérifier un enregistrement de référence, le nettoyer et le ranger comme voix que XTTS peut cloner."""
    from bot.config import Settings
    from bot.voice.reference import (
        ReferenceLimits,
        ReferenceRejected,
        VoiceReferenceError,
        check_with_xtts,
        clone_voice,
        voices_dir,
    )

    settings = Settings()
    directory = voices_dir(settings)
    limits = ReferenceLimits()
    try:
        voice = clone_voice(ref, name, directory, force=force, limits=limits)
    except ReferenceRejected as exc:
        console.print(_("mesuré : {what}").format(what=escape(_measured(exc.measurements, limits))))
        console.print(f"[red]{_('refusé :')}[/] " + _("{name} ne peut pas servir de référence de voix").format(
            name=escape(ref.name)))
        for problem in exc.problems:
            console.print(f"  - {escape(problem.message)}")
        raise typer.Exit(1) from None
    except VoiceReferenceError as exc:
        console.print(f"[red]{_('refusé :')}[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(_("mesuré : {what}").format(what=escape(_measured(voice.measurements, limits))))
    console.print(_("nettoyé : {what}").format(what=escape('; '.join(_step(s) for s in voice.processing))))
    out = voice.output
    console.print(_("rangé : {wav} ({duration} s, 24 kHz mono 16 bits, {lufs} LUFS, crête {peak} dBFS) "
                    "et {meta}").format(
        wav=escape(str(voice.wav)), duration=f"{out['duration_s']:.1f}", lufs=f"{out['loudness_lufs']:.1f}",
        peak=f"{out['peak_dbfs']:.1f}", meta=escape(voice.meta.name)))
    engine = check_with_xtts(name, directory, settings)
    console.print(f"xtts : {escape(engine.message)}")
    if engine.status == "failed":
        console.print(_("[red]les fichiers sont gardés[/] : réparer le moteur et relancer avec --force, ou supprimer "
                        "{wav}").format(wav=voice.wav))
        raise typer.Exit(1)


@voice_app.command("list")
def list_() -> None:
    """Les voix rangées : nom, durée, rapport signal sur bruit, date de création."""
    from bot.config import Settings
    from bot.voice.reference import list_voices, voices_dir

    directory = voices_dir(Settings())
    voices = list_voices(directory)
    if not voices:
        console.print(_("aucune voix dans {path} (minibot voice clone REF.wav --name NOM)").format(
            path=escape(str(directory))))
        return
    table = Table(title=_("voix dans {path}").format(path=escape(str(directory))))
    table.add_column(_("nom"))
    table.add_column(_("durée"), justify="right")
    table.add_column("SNR", justify="right")
    table.add_column(_("créée le"))
    for v in voices:
        table.add_row(
            v.name,
            "?" if v.duration_s is None else f"{v.duration_s:.1f} s",
            "?" if v.snr_db is None else f"{v.snr_db:.1f} dB",
            v.created or _("? (pas de métadonnées)"),
        )
    console.print(table)
