"""How many reviewed messages the served model has not learnt from yet: the review work
waiting for the next `shopdesk retrain`.

A reviewed message reaches a model in two steps: the export writes it into
`data/nlu/reviewed.yml`, then a training reads that file. So a message reviewed after the
last export is not in any model yet, and neither is one reviewed after the served model was
made (exported later, perhaps, but not trained on). The cut-off is the earlier of the two
times: the NLU export file's and the served model archive's modification times (a model made
by `shopdesk retrain` is exported for first, so its own reviews fall before the cut-off).
Without either file, no review has reached a model and every one counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.runtime.models import latest_model
from bot.storage.conversation_log import PIPELINE_INTENTS

DEFINITION = (
    "customer messages reviewed with an intent (labelled or confirmed, not excluded) after "
    "the earlier of the last export of reviewed messages and the served model"
)


@dataclass(frozen=True)
class TrainingBacklog:
    waiting: int
    since: dt.datetime | None  # the cut-off (UTC); None: every review counts
    model: Path | None  # the served model archive, if any
    exported: dt.datetime | None  # when the NLU export file was last written (UTC)


def _mtime(path: Path | None) -> dt.datetime | None:
    if path is None or not path.is_file():
        return None
    stamp = path.stat().st_mtime
    return dt.datetime.fromtimestamp(stamp, tz=dt.timezone.utc).replace(tzinfo=None)


def training_backlog(engine: Engine, nlu_export: Path, models_dir: Path) -> TrainingBacklog:
    """Reviewed messages not yet in the served model, by the rule in the module's docstring:
    only reviews the export writes as NLU data count (not excluded, and with an intent that is
    not the pipeline's own, corrected or as the bot had it)."""
    from bot.storage.conversation_index import MESSAGES, sync
    from bot.storage.reviews import MessageReviewRow

    model = latest_model(models_dir)
    model_time, exported = _mtime(model), _mtime(nlu_export)
    since = min(model_time, exported) if model_time and exported else None
    reviews, m = MessageReviewRow.__table__.c, MESSAGES.c
    intent = func.coalesce(reviews.corrected_intent, m.intent)  # as the export takes it
    sync(engine)
    query = (
        select(func.count())
        .select_from(MessageReviewRow.__table__.outerjoin(MESSAGES, m.event_id == reviews.event_id))
        .where(
            reviews.excluded.is_(False),
            intent.isnot(None),
            intent.notin_(sorted(PIPELINE_INTENTS)),
        )
    )
    if since is not None:
        query = query.where(reviews.reviewed_at > since)
    with engine.connect() as connection:
        waiting = int(connection.scalar(query) or 0)
    return TrainingBacklog(waiting, since, model, exported)
