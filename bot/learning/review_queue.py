"""The review queue: unreviewed customer messages, the label that teaches the classifier most
first.

Staff time is what the learning loop costs, so the order matters: `bench/learning_curve.py`
(issue 13) measures how fast the classifier improves per message reviewed under each strategy
here, which carry its names and rules. The first three need only what Rasa logged with each
message (the classifier's intent ranking), no model; `cluster_margin` also embeds the messages
with the served model's encoder, so that the first page is not twenty phrasings of one
question. The review app's NLU inbox and `shopdesk review queue` both order by this.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.runtime.models import latest_model
from bot.settings import MODELS_DIR

if TYPE_CHECKING:  # imported where used: `shopdesk` starts without numpy and SQLAlchemy
    import numpy as np
    from sqlalchemy.engine import Connection, Engine

# The benchmark's winner orders the inbox and the CLI: change it here, and only here.
DEFAULT_STRATEGY = "lowest_confidence"
STRATEGIES = {
    "random": "a fixed random order (any message as likely to come first as another)",
    "lowest_confidence": "the classifier's least confident first (smallest top-1 confidence)",
    "margin": "the closest calls first (smallest gap between the top two intents' confidences)",
    "cluster_margin": "the closest call of each group of similar messages first, then the next "
    "of each (groups: k-means over the served model's sentence embeddings)",
}
# The newest unreviewed messages ordered at most: bounded work however far behind review is.
QUEUE_SCAN_LIMIT = 10_000
# cluster_margin's number of groups when no page size says otherwise: about a page of the inbox.
CLUSTERS = 25
RANDOM_SALT = b"shopdesk review queue"

Embedder = Callable[[Sequence[str]], "np.ndarray"]


@dataclass(frozen=True)
class QueueItem:
    event_id: int
    conversation_id: str
    text: str
    intent: str | None  # the classifier's top intent (never nlu_fallback / other_language)
    confidence: float  # its confidence
    margin: float  # top-1 minus top-2 confidence; the top-1 itself when there is no second


def uncertainty(parse: dict[str, Any]) -> tuple[str | None, float, float]:
    """The classifier's own top intent, its confidence and its margin over the runner-up, from
    a message's parse data. The pipeline's intents (nlu_fallback, other_language) are put in
    front of the ranking by later components; they are not the classifier's guesses."""
    from bot.storage.conversation_log import PIPELINE_INTENTS

    ranking = sorted(
        (
            (float(entry.get("confidence") or 0.0), str(entry["name"]))
            for entry in parse.get("intent_ranking") or []
            if entry.get("name") and entry["name"] not in PIPELINE_INTENTS
        ),
        reverse=True,
    )
    if not ranking:
        intent = parse.get("intent") or {}
        name = intent.get("name")
        confidence = float(intent.get("confidence") or 0.0)
        return (None if name in PIPELINE_INTENTS else name), confidence, confidence
    top, name = ranking[0]
    second = ranking[1][0] if len(ranking) > 1 else 0.0
    return name, top, top - second


def items_for(connection: Connection, messages: Iterable[tuple[int, str, str]]) -> list[QueueItem]:
    """Queue items for (event id, conversation, text) rows, read from their logged parse data."""
    from sqlalchemy import select

    from bot.storage.conversation_log import EVENTS

    rows = list(messages)
    parses: dict[int, dict[str, Any]] = {}
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 500):  # bounded IN lists
        query = select(EVENTS.c.id, EVENTS.c.data).where(EVENTS.c.id.in_(ids[start : start + 500]))
        for event_id, data in connection.execute(query):
            parses[event_id] = json.loads(data or "{}").get("parse_data") or {}
    return [
        QueueItem(event_id, conversation_id, text, *uncertainty(parses.get(event_id, {})))
        for event_id, conversation_id, text in rows
    ]


def unreviewed_items(engine: Engine, limit: int = QUEUE_SCAN_LIMIT) -> list[QueueItem]:
    """The newest `limit` customer messages nobody has reviewed (no row in message_reviews);
    button payloads ("/affirm") are left out, as the export leaves them out of training."""
    from sqlalchemy import exists, select

    from bot.storage.conversation_index import MESSAGES, sync
    from bot.storage.reviews import MessageReviewRow

    sync(engine)
    m, reviews = MESSAGES.c, MessageReviewRow.__table__
    query = (
        select(m.event_id, m.conversation_id, m.text)
        .where(
            ~exists().where(reviews.c.event_id == m.event_id),
            ~m.text.startswith("/", autoescape=True),
        )
        .order_by(m.event_id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return items_for(connection, [tuple(row) for row in connection.execute(query)])


# --------------------------------------------------------------------------- ordering


def _random_key(item: QueueItem) -> bytes:
    """Random but fixed per message: paging through the inbox never reshuffles it."""
    return hashlib.sha256(RANDOM_SALT + str(item.event_id).encode()).digest()


def _cluster_margin(items: list[QueueItem], embedder: Embedder, clusters: int) -> list[QueueItem]:
    """Round robin over k-means clusters: each cluster's smallest margin, closest call first,
    then each cluster's second smallest, and so on. The first `clusters` items are what the
    benchmark's cluster_margin reviews in a round of that size."""
    import numpy as np
    from sklearn.cluster import MiniBatchKMeans

    by_margin = sorted(items, key=lambda item: (item.margin, -item.event_id))
    count = min(clusters, len(items))
    if count < 2 or len(items) <= count:
        return by_margin  # one message per cluster: the margin order itself
    vectors = np.asarray(embedder([item.text for item in items]), dtype=np.float64)
    labels = MiniBatchKMeans(n_clusters=count, random_state=0, n_init=3).fit_predict(vectors)
    cluster_of = {item.event_id: int(label) for item, label in zip(items, labels, strict=True)}
    seen: dict[int, int] = {}
    place: dict[int, int] = {}
    for item in by_margin:
        label = cluster_of[item.event_id]
        place[item.event_id] = seen.get(label, 0)
        seen[label] = place[item.event_id] + 1
    return sorted(by_margin, key=lambda item: place[item.event_id])  # stable: margin within


def order(
    items: Iterable[QueueItem],
    strategy: str = DEFAULT_STRATEGY,
    embedder: Embedder | None = None,
    clusters: int = CLUSTERS,
) -> list[QueueItem]:
    """`items` in the strategy's order; ties go to the newer message."""
    items = list(items)
    if strategy == "random":
        return sorted(items, key=_random_key)
    if strategy == "lowest_confidence":
        return sorted(items, key=lambda item: (item.confidence, -item.event_id))
    if strategy == "margin":
        return sorted(items, key=lambda item: (item.margin, -item.event_id))
    if strategy == "cluster_margin":
        return _cluster_margin(items, embedder or served_encoder(), clusters)
    raise ValueError(f"unknown review strategy {strategy!r}; one of {', '.join(STRATEGIES)}")


def ranks(
    connection: Connection,
    messages: Iterable[tuple[int, str, str]],
    strategy: str = DEFAULT_STRATEGY,
    embedder: Embedder | None = None,
) -> dict[int, int]:
    """event id -> place in the queue (0 first) of the given messages, for the inbox."""
    ordered = order(items_for(connection, messages), strategy, embedder)
    return {item.event_id: place for place, item in enumerate(ordered)}


def review_queue(
    engine: Engine,
    strategy: str = DEFAULT_STRATEGY,
    limit: int | None = None,
    embedder: Embedder | None = None,
) -> tuple[list[QueueItem], int]:
    """The first `limit` unreviewed messages (all, when None) in the strategy's order, and how
    many unreviewed messages were ordered."""
    items = unreviewed_items(engine)
    ordered = order(items, strategy, embedder, clusters=limit or CLUSTERS)
    return (ordered if limit is None else ordered[:limit]), len(items)


# ------------------------------------------------------------------------- embeddings


class ServedEncoder:
    """Sentence embeddings from the served model's encoder (bot/learning/discovery.py's), unpacked
    once
    per archive and remembered per text: the inbox asks again on every page view. Without a
    model, the packaged base encoder the classifier is fine-tuned from."""

    MAX_REMEMBERED = 50_000

    def __init__(self, models_dir: Path = MODELS_DIR) -> None:
        self.models_dir = models_dir
        self._lock = threading.Lock()
        self._key: tuple[str, float] | None = None
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._model_dir: Path | None = None
        self._vectors: dict[str, np.ndarray] = {}

    def _load(self) -> Path:
        from bot.learning.discovery import encoder_dir_from_archive
        from bot.nlu.base_model import packaged_minilm_path

        archive = latest_model(self.models_dir)
        key = (str(archive), archive.stat().st_mtime) if archive else ("", 0.0)
        if key != self._key or self._model_dir is None:
            if self._scratch is not None:
                self._scratch.cleanup()
            self._scratch, self._vectors = None, {}
            if archive is None:
                self._model_dir = packaged_minilm_path()
            else:
                self._scratch = tempfile.TemporaryDirectory(prefix="shopdesk-queue-")
                self._model_dir = encoder_dir_from_archive(archive, Path(self._scratch.name))
            self._key = key
        return self._model_dir

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        from bot.learning.discovery import embed

        with self._lock:
            model_dir = self._load()
            missing = [text for text in dict.fromkeys(texts) if text not in self._vectors]
            if len(self._vectors) + len(missing) > self.MAX_REMEMBERED:
                self._vectors = {}
                missing = list(dict.fromkeys(texts))
            if missing:
                self._vectors.update(zip(missing, embed(missing, model_dir), strict=True))
            return np.stack([self._vectors[text] for text in texts])


@lru_cache(maxsize=4)
def served_encoder(models_dir: Path = MODELS_DIR) -> ServedEncoder:
    """One encoder (and its remembered vectors) per models folder in this process."""
    return ServedEncoder(models_dir)
