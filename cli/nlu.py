"""`minibot nlu`: what a caller's words mean (intent, objection id, confidence).

Offline by default; with MINIBOT_LLM__ENABLED=true, Ollama answers first and the offline
classifier takes over whenever it is slow, down or talks nonsense.
"""

from __future__ import annotations

import asyncio
import json
import sys

import typer

from bot.i18n import _

nlu_app = typer.Typer(help="Compréhension : intention et objection d'une phrase.", no_args_is_help=True)
FIELDS = ("text", "intent", "objection", "score")


def _classifier(themes: list[str], embeddings: bool):
    from bot.config import Settings
    from bot.dialog.llm import OllamaChat
    from bot.dialog.nlu.embeddings import Embedder
    from bot.dialog.nlu.offline import OfflineClassifier
    from bot.dialog.nlu.ollama import OllamaClassifier
    from bot.dialog.objections.library import BASE_THEMES, load_library

    library = load_library().select([*BASE_THEMES, *themes])
    classifier = OfflineClassifier(library, embedder=Embedder() if embeddings else None)
    llm = Settings().llm
    if llm.enabled:
        return OllamaClassifier(OllamaChat.from_settings(llm), library, classifier, llm.timeout)
    return classifier


def _parse(raw: str, number: int) -> str | dict:
    """The utterance of one input line, or the error line to print instead."""
    try:
        item = json.loads(raw)
    except ValueError as exc:
        return {"error": f"line {number}: not JSON ({exc})"}
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return {"error": f'line {number}: expected {{"text": "..."}}'}
    return item["text"]


def _emit(out: dict) -> None:
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@nlu_app.command()
def classify(
    text: str = typer.Argument(None, metavar="PHRASE", help="une phrase (rien avec --jsonl)"),
    jsonl: bool = typer.Option(False, "--jsonl", help='lire des lignes {"text": ...} sur l\'entrée standard, '
                               'écrire une ligne JSON pour chacune'),
    theme: list[str] = typer.Option([], "--theme", help="thèmes d'objections en plus de general et standard"),
    embeddings: bool = typer.Option(True, help="utiliser le modèle de plongements e5 (meilleur sur des "
                                    "formulations jamais vues)"),
) -> None:
    """Afficher {"text", "intent", "objection", "score"} pour chaque phrase."""
    if not jsonl and text is None:
        raise typer.BadParameter(_("donner une PHRASE ou --jsonl"))
    classifier = _classifier(theme, embeddings)

    async def run() -> None:
        if not jsonl:
            understood = (await classifier.understand(text)).as_json()
            _emit({k: understood[k] for k in FIELDS})
            return
        loop = asyncio.get_running_loop()
        number = 0
        while raw := await loop.run_in_executor(None, sys.stdin.readline):
            number += 1
            if not raw.strip():
                continue
            parsed = _parse(raw, number)
            if isinstance(parsed, dict):
                _emit(parsed)
                continue
            understood = (await classifier.understand(parsed)).as_json()
            _emit({k: understood[k] for k in FIELDS})

    asyncio.run(run())
