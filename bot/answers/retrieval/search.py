"""The live transcript search the actions use: a threshold, and reloading in the background.

The index is built once at start-up (a malformed file stops the start, naming file and line).
Afterwards a changed `data/transcripts/` is noticed on the next query and re-indexed in a
background thread while answers keep coming from the previous index; a malformed file then
keeps the previous index and logs the error.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from bot.answers.retrieval.index import Hit, TranscriptIndex
from bot.answers.retrieval.transcripts import TranscriptFileError, load_transcripts

logger = logging.getLogger(__name__)

# Lowest BM25 score of a retrieved answer we show. Calibrated on tests/retrieval_heldout.jsonl
# with bench/calibrate_retrieval.py (see docs/benchmarks.md for the method and figures).
DEFAULT_SCORE_THRESHOLD = 10.5
# A match so close that its answer is worth adding to a template's (actions/transcript_addition.py):
# from 18.0 up no retrieved answer was wrong on that set (bench/results/retrieval_threshold.json),
# but at 18.0 a Black Friday promotion answer matched a question about returning a sale item.
STRONG_MATCH_SCORE = 18.5


class TranscriptSearch:
    def __init__(
        self,
        directory: Path,
        threshold: float = DEFAULT_SCORE_THRESHOLD,
        check_every_seconds: float = 5.0,
    ) -> None:
        self.directory = Path(directory)
        self.threshold = threshold
        self.check_every_seconds = check_every_seconds
        self._stamp = self._directory_stamp()
        self._index = TranscriptIndex(load_transcripts(self.directory))
        self._last_check = time.monotonic()
        self._rebuilding = threading.Lock()

    def __len__(self) -> int:
        return len(self._index)

    def best(self, text: str) -> Hit | None:
        """The best past answer if it scores at least the threshold, else None."""
        self._reload_if_changed()
        hits = self._index.search(text, k=1)
        return hits[0] if hits and hits[0].score >= self.threshold else None

    def search(self, text: str, k: int = 5) -> list[Hit]:
        self._reload_if_changed()
        return self._index.search(text, k)

    def _directory_stamp(self) -> tuple:
        return tuple(
            sorted(
                (path.name, path.stat().st_mtime_ns, path.stat().st_size)
                for path in self.directory.glob("*.jsonl")
            )
        )

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._last_check < self.check_every_seconds:
            return
        self._last_check = now
        stamp = self._directory_stamp()
        if stamp != self._stamp and self._rebuilding.acquire(blocking=False):
            threading.Thread(target=self._rebuild, args=(stamp,), daemon=True).start()

    def _rebuild(self, stamp: tuple) -> None:
        try:
            index = TranscriptIndex(load_transcripts(self.directory))
            self._index = index  # one reference swap: queries see the old or the new index
            logger.info("Transcript index reloaded: %d transcripts.", len(index))
        except (TranscriptFileError, OSError) as error:
            logger.error(
                "Transcripts changed but cannot be loaded, keeping the old index: %s", error
            )
        finally:
            self._stamp = stamp
            self._rebuilding.release()

    def reload_now(self) -> None:
        """Rebuild synchronously (tests, CLI); raises on malformed files."""
        with self._rebuilding:
            self._index = TranscriptIndex(load_transcripts(self.directory))
            self._stamp = self._directory_stamp()
