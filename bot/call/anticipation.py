"""Understanding the caller before they stop: each new partial transcript is classified while
they are still speaking, so when the turn ends on words the streaming recogniser already gave,
the answer is ready and the reply starts at once.

Only for classifiers that say they are cheap (the offline one: ~20 ms of CPU); a remote LLM is
asked once, for the final words. A partial is guessed once it has stood for `settle` seconds
(the caller has paused: it is likely the last one, and many calls' word-by-word partials would
otherwise queue for the CPU); at most one guess runs at a time, and the newest partial wins.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..dialog.intents import IntentClassifier, Understanding


class Anticipation:
    def __init__(self, classifier: IntentClassifier, *, settle: float = 0.15) -> None:
        self._classifier = classifier
        self.settle = settle
        self._timer: asyncio.TimerHandle | None = None
        self.enabled = bool(getattr(classifier, "cheap", False))
        self._guesses: dict[str, asyncio.Task[Understanding]] = {}  # text -> its classification
        self._running: asyncio.Task[Understanding] | None = None
        self._next: str | None = None  # the newest partial, waiting for the guess in flight
        self.hits = 0  # finals that found their answer already classified

    def heard(self, partial: str) -> None:
        """A partial transcript came: guess what it means once it has stood for `settle`."""
        text = partial.strip()
        if not self.enabled or not text or text in self._guesses:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.settle, self._settled, text)

    def _settled(self, text: str) -> None:
        self._timer = None
        if text in self._guesses:
            return
        if self._running is not None and not self._running.done():
            self._next = text
            return
        self._start(text)

    async def understand(self, final: str) -> Understanding:
        """The final words' meaning: the guess made for these very words, or a fresh one."""
        guess = self._guesses.get(final.strip())
        if guess is not None and not guess.cancelled():
            with contextlib.suppress(Exception):  # a failed guess: ask again, the error is told there
                result = await asyncio.shield(guess)
                self.hits += 1
                return result
        if self._timer is not None:  # the turn is over: no guess after it
            self._timer.cancel()
            self._timer = None
        if self._next == final.strip():
            self._next = None
        return await self._classifier.understand(final)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in self._guesses.values():
            task.cancel()
        self._guesses.clear()
        self._next = None

    def _start(self, text: str) -> None:
        if len(self._guesses) >= 8:  # old guesses: words the caller has gone past
            oldest = next(iter(self._guesses))
            self._guesses.pop(oldest).cancel()
        task = asyncio.ensure_future(self._classifier.understand(text))
        task.add_done_callback(self._done)
        self._guesses[text] = self._running = task

    def _done(self, task: asyncio.Task[Understanding]) -> None:
        if not task.cancelled():
            task.exception()  # retrieved: a failed guess is not an unhandled error
        if self._next is not None and self._running is task:
            text, self._next = self._next, None
            if text not in self._guesses:
                self._start(text)
