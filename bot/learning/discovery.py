"""Intent discovery: group the customer messages no intent covers, so staff can spot new
intents and FAQ entries (`shopdesk discover`).

Messages the classifier called `out_of_scope`, that fell back (`nlu_fallback`), or whose
answer the customer said did not help are what the bot cannot do yet. Read one by one in the
review app they look like noise; grouped by meaning, a topic that many customers ask about
stands out by its size. Each group is shown with the messages nearest its centre (what it is
about) and the existing intent nearest to it (whether it is a new intent or one whose
training data misses a phrasing). Messages a staff member has already reviewed are left out:
someone has decided about them.
"""

from __future__ import annotations

import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from bot.settings import PROJECT_ROOT
from bot.storage.conversation_log import FALLBACK_INTENT, ConversationLog

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

OUT_OF_SCOPE_INTENT = "out_of_scope"
NEGATIVE_FEEDBACK = "negative_feedback"
NLU_DATA_DIR = PROJECT_ROOT / "data" / "nlu"
# The largest average cosine distance within a cluster. Under all-MiniLM-L6-v2, 0.6 grouped
# paraphrases of gift-wrap and of instalment questions and left off-topic ones alone; at 0.5
# the instalment questions stayed apart.
DEFAULT_DISTANCE_THRESHOLD = 0.6
DEFAULT_MIN_SIZE = 3  # fewer customers than this asking the same is no pattern yet
UNCLUSTERED = -1
# Training examples per intent whose mean stands for the intent: all of them (about 100 per
# store intent) took over a minute to embed on 2 shared cores before the first discovery
# page. With 25 spread over the list, the nearest intent of the 301 messages of
# tests/nlu_robustness.yml (packaged encoder) agreed with all examples' for 93 %, and was
# the right intent for 82.4 % (85.0 % with all): good enough to point staff to a neighbour.
EXAMPLES_PER_INTENT = 25


@dataclass(frozen=True)
class Candidate:
    """A customer message no intent covered; `reason` says why it was picked."""

    event_id: int
    conversation_id: str
    text: str
    intent: str | None  # the intent the bot acted on (nlu_fallback, out_of_scope, ...)
    confidence: float | None  # the classifier's confidence in its own top intent
    reason: str = ""


@dataclass
class Cluster:
    size: int
    representatives: list[Candidate]  # nearest the centroid first
    nearest_intent: str | None
    similarity: float | None  # cosine between the centroid and that intent's mean
    members: list[int] = field(default_factory=list)  # event ids


# ------------------------------------------------------------------ candidates


def discovery_candidates(
    log_url: str | None = None, limit: int = 1000, negative_feedback: bool = True
) -> list[Candidate]:
    """The newest `limit` unreviewed customer messages that no intent covered.

    Reads the review app's message index (brought up to date first), so the choice is one SQL
    query; answers the customer rated unhelpful are found through the conversation log, which
    is what ties a feedback row to the message it answered.
    """
    from sqlalchemy import or_, select

    from bot.storage.conversation_index import MESSAGES, sync
    from bot.storage.reviews import MessageReviewRow

    log = ConversationLog(log_url)
    sync(log.engine)
    reviews = MessageReviewRow.__table__
    m = MESSAGES.c
    query = (
        select(m.event_id, m.conversation_id, m.text, m.intent, m.classifier_intent, m.confidence)
        .where(
            or_(
                m.intent.in_((FALLBACK_INTENT, OUT_OF_SCOPE_INTENT)),
                m.classifier_intent == OUT_OF_SCOPE_INTENT,
            ),
            ~select(reviews.c.event_id).where(reviews.c.event_id == m.event_id).exists(),
        )
        .order_by(m.event_id.desc())
        .limit(limit)
    )
    with log.engine.connect() as connection:
        rows = connection.execute(query).all()
        reviewed = set(connection.scalars(select(reviews.c.event_id)))
    found = {
        row.event_id: Candidate(
            *(row.event_id, row.conversation_id, row.text, row.intent, row.confidence),
            reason=FALLBACK_INTENT if row.intent == FALLBACK_INTENT else OUT_OF_SCOPE_INTENT,
        )
        for row in rows
    }
    if negative_feedback:
        for candidate in _unhelpfully_answered(log, limit):
            if candidate.event_id not in reviewed:
                found.setdefault(candidate.event_id, candidate)
    return sorted(found.values(), key=lambda c: c.event_id, reverse=True)[:limit]


def _unhelpfully_answered(log: ConversationLog, conversations: int) -> list[Candidate]:
    """Customer messages whose answer got a "no, this did not help", in the `conversations`
    most recently rated so."""
    from sqlalchemy import func, select

    from bot.storage.handoffs_and_feedback import AnswerFeedback

    query = (
        select(AnswerFeedback.conversation_id)
        .where(AnswerFeedback.helpful.is_(False))
        .group_by(AnswerFeedback.conversation_id)
        .order_by(func.max(AnswerFeedback.id).desc())
        .limit(conversations)
    )
    with log.engine.connect() as connection:
        conversation_ids = list(connection.scalars(query))
    found = []
    for conversation_id in conversation_ids:
        conversation = log.read(conversation_id)
        for turn in conversation.user_turns if conversation else []:
            if any(reply.feedback is False for reply in conversation.answers_to(turn)):
                guess = turn.classifier_intent
                confidence = guess.confidence if guess else turn.confidence
                said = (turn.event_id, conversation_id, turn.text, turn.intent, confidence)
                found.append(Candidate(*said, reason=NEGATIVE_FEEDBACK))
    return found


# ------------------------------------------------------------------ embeddings


def encoder_dir_from_archive(archive: Path, into: Path) -> Path:
    """Unpack the BertIntentClassifier's files from a Rasa model archive into `into` and
    return that folder: the fine-tuned encoder as Hugging Face files (`persist` writes them
    under components/train_<...>BertIntentClassifier<n>/). Only that folder is unpacked, and
    no member may leave `into`: an archive is a file someone handed us."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [member for member in tar.getmembers() if member.isfile()]
        folders = {
            PurePosixPath(member.name.lstrip("/")).parent
            for member in members
            if PurePosixPath(member.name).name == "labels.json"
            and "BertIntentClassifier" in PurePosixPath(member.name).parent.name
        }
        if len(folders) != 1:
            raise ValueError(
                f"{archive}: expected one BertIntentClassifier folder, found {len(folders)}"
            )
        [folder] = folders
        target = into / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for member in members:
            path = PurePosixPath(member.name.lstrip("/"))
            if path.parent != folder or path.name in ("", ".", ".."):
                continue
            source = tar.extractfile(member)
            if source is not None:
                (target / path.name).write_bytes(source.read())
    return target


def embed(texts: Sequence[str], model_dir: Path, batch_size: int = 64) -> np.ndarray:
    """Unit-length sentence embeddings: the mean of the encoder's token vectors, as the
    classifier itself embeds a message (bot/nlu/sentence_model.py)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from bot.nlu.sentence_model import mean_pooling

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    batches, encoding = [], {"padding": True, "truncation": True, "max_length": 128}
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            inputs = tokenizer(batch, return_tensors="pt", **encoding)
            pooled = mean_pooling(model(**inputs).last_hidden_state, inputs["attention_mask"])
            batches.append(torch.nn.functional.normalize(pooled, dim=-1).float().numpy())
    width = int(model.config.hidden_size)
    return np.concatenate(batches) if batches else np.zeros((0, width), dtype=np.float32)


def intent_examples(data_dir: Path = NLU_DATA_DIR) -> dict[str, list[str]]:
    """intent -> its training examples (normalised) in the project's NLU files."""
    from bot.learning.nlu_files import examples_of

    examples: dict[str, list[str]] = {}
    for path in sorted(data_dir.rglob("*.yml")):
        for text, intent in examples_of(path).items():
            examples.setdefault(intent, []).append(text)
    return examples


# ------------------------------------------------------------------ clustering


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def cluster(
    embeddings: np.ndarray,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
) -> np.ndarray:
    """A label per row: 0 for the largest cluster, 1 for the next, ...; UNCLUSTERED (-1) for
    rows in clusters smaller than `min_size`. Average linkage on cosine distance needs no
    number of clusters, which nobody knows in advance, and does not chain unlike messages
    together through a series of close pairs as single linkage would."""
    from sklearn.cluster import AgglomerativeClustering

    count = len(embeddings)
    if count < 2:
        return np.array([0 if min_size <= count else UNCLUSTERED] * count, dtype=int)
    raw = AgglomerativeClustering(
        n_clusters=None,
        affinity="cosine",
        linkage="average",
        distance_threshold=distance_threshold,
    ).fit_predict(np.asarray(embeddings, dtype=np.float64))
    sizes = np.bincount(raw)
    kept = [label for label in range(len(sizes)) if sizes[label] >= max(min_size, 1)]
    # Largest first; among equals, the one whose first member comes first.
    kept.sort(key=lambda label: (-sizes[label], int(np.argmax(raw == label))))
    labels = np.full(count, UNCLUSTERED, dtype=int)
    for new, old in enumerate(kept):
        labels[raw == old] = new
    return labels


def discover(
    candidates: Sequence[Candidate],
    embeddings: np.ndarray,
    intent_embeddings: Mapping[str, np.ndarray],
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    representatives: int = 3,
) -> list[Cluster]:
    """Clusters of `candidates` (one embedding row each), largest first.

    `intent_embeddings` maps an intent to its examples' embeddings (or to one mean vector);
    a cluster's nearest intent is the one whose mean lies closest to the cluster's centroid,
    so one odd training example cannot claim a cluster.
    """
    units = _unit(embeddings) if len(candidates) else np.zeros((0, 0))
    labels = cluster(units, distance_threshold, min_size)
    names = list(intent_embeddings)
    means = [_unit(_unit(intent_embeddings[name]).mean(axis=0))[0] for name in names]
    clusters = []
    for label in range(labels.max() + 1 if len(labels) else 0):
        indices = np.flatnonzero(labels == label)
        centroid = _unit(units[indices].mean(axis=0))[0]
        closeness = units[indices] @ centroid
        order = indices[np.argsort(-closeness, kind="stable")]
        nearest, similarity = None, None
        if names:
            scores = np.stack(means) @ centroid
            best = int(np.argmax(scores))
            nearest, similarity = names[best], float(scores[best])
        closest = [candidates[i] for i in order[:representatives]]
        members = [candidates[i].event_id for i in indices]
        clusters.append(Cluster(len(indices), closest, nearest, similarity, members))
    return clusters


# ------------------------------------------------------------------ the command


def intent_embeddings(
    model_dir: Path, data_dir: Path = NLU_DATA_DIR, per_intent: int = EXAMPLES_PER_INTENT
) -> dict[str, np.ndarray]:
    """intent -> embeddings of up to `per_intent` of its training examples, spread over its
    list (what a cluster's nearest intent is measured against); the slow part of discovery,
    so the review app keeps it per model."""
    examples = {
        intent: [texts[int(i)] for i in np.linspace(0, len(texts) - 1, per_intent)]
        if len(texts) > per_intent
        else texts
        for intent, texts in intent_examples(data_dir).items()
    }
    vectors = embed([t for ts in examples.values() for t in ts], model_dir)
    intents: dict[str, np.ndarray] = {}
    start = 0
    for intent, texts in examples.items():
        intents[intent], start = vectors[start : start + len(texts)], start + len(texts)
    return intents


def cluster_candidates(
    candidates: Sequence[Candidate],
    model_dir: Path,
    intents: Mapping[str, np.ndarray],
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
) -> list[Cluster]:
    """`candidates` embedded with the encoder in `model_dir`, clustered."""
    if not candidates:
        return []
    vectors = embed([c.text for c in candidates], model_dir)
    return discover(candidates, vectors, intents, distance_threshold, min_size)


def run_discovery(
    log_url: str | None = None,
    archive: Path | None = None,
    encoder_dir: Path | None = None,
    data_dir: Path = NLU_DATA_DIR,
    limit: int = 1000,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
) -> tuple[list[Candidate], list[Cluster]]:
    """Candidates from the log and their clusters, embedded with the encoder of `archive`,
    else `encoder_dir`, else the packaged base model the classifier is fine-tuned from (whose
    space is not yet bent towards the known intents)."""
    import tempfile

    from bot.nlu.base_model import packaged_minilm_path

    candidates = discovery_candidates(log_url, limit)
    if not candidates:
        return [], []
    with tempfile.TemporaryDirectory(prefix="shopdesk-discover-") as scratch:
        if archive is not None:
            model_dir = encoder_dir_from_archive(archive, Path(scratch))
        else:
            model_dir = encoder_dir or packaged_minilm_path()
        intents = intent_embeddings(model_dir, data_dir)
        clusters = cluster_candidates(candidates, model_dir, intents, distance_threshold, min_size)
    return candidates, clusters


def as_json(candidates: Sequence[Candidate], clusters: Sequence[Cluster]) -> dict:
    """What `shopdesk discover --json` prints."""
    return {
        "candidates": len(candidates),
        "unclustered": len(candidates) - sum(c.size for c in clusters),
        "clusters": [asdict(c) for c in clusters],
    }


def as_text(candidates: Sequence[Candidate], clusters: Sequence[Cluster]) -> str:
    """What `shopdesk discover` prints: one paragraph per cluster."""
    if not candidates:
        return "No unreviewed messages that no intent covers."
    lines = []
    for number, found in enumerate(clusters, start=1):
        nearest = f"{found.nearest_intent} ({found.similarity or 0:.2f})"
        lines.append(f"{number}. {found.size} messages, nearest intent {nearest}")
        lines += [f"     [{c.event_id}] {c.text!r}" for c in found.representatives]
    unclustered = len(candidates) - sum(c.size for c in clusters)
    lines.append(f"{len(candidates)} messages: {len(clusters)} clusters, {unclustered} unclustered")
    return "\n".join(lines)


def unreviewed_messages(engine: Engine, event_ids: Sequence[int]) -> dict[int, str]:
    """event id -> conversation of those `event_ids` that are customer messages nobody has
    reviewed yet: what a discovery page may still label (a colleague may have been faster)."""
    from sqlalchemy import select

    from bot.storage.conversation_index import MESSAGES
    from bot.storage.reviews import MessageReviewRow

    reviews = MessageReviewRow.__table__
    query = select(MESSAGES.c.event_id, MESSAGES.c.conversation_id).where(
        MESSAGES.c.event_id.in_(list(event_ids)),
        ~select(reviews.c.event_id).where(reviews.c.event_id == MESSAGES.c.event_id).exists(),
    )
    with engine.connect() as connection:
        return {row.event_id: row.conversation_id for row in connection.execute(query)}
