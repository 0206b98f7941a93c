"""Intent discovery in the review app: groups of messages no intent covers, and what staff
decide about each (an existing intent, excluded, or a new intent they name).

The groups come from `bot/learning/discovery.py` with the served model's own encoder (the newest
archive in the project's models/, else `settings.discovery_encoder`, else the packaged base
model). Unpacking the encoder and embedding every training example is the slow part, so it is
done once per model and kept; each page view embeds only the unreviewed candidates, in a
worker thread.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from bot.learning.discovery import (
    Candidate,
    Cluster,
    cluster_candidates,
    discovery_candidates,
    encoder_dir_from_archive,
    intent_embeddings,
    unreviewed_messages,
)
from bot.review_app.rendering import render
from bot.review_app.threads import in_thread
from bot.runtime.models import latest_model
from bot.storage.new_intents import (
    NewIntentError,
    add_new_intent,
    check_new_intent_name,
    new_intent_names,
)
from bot.storage.reviews import ReviewError

bp = Blueprint("discovery")

CANDIDATE_LIMIT = 1000
DONE = {"label": "labelled", "exclude": "excluded", "new": "labelled as a new intent"}


class DiscoveryPageError(ValueError):
    """A request the page cannot serve; the message is shown to staff as it is."""


@dataclass
class EncoderCache:
    """The served model's encoder, unpacked, and its training examples' embeddings, for one
    model archive (a new archive, after a retrain, replaces them)."""

    key: tuple[str, float] | None = None
    model_dir: Path | None = None
    intents: dict[str, np.ndarray] | None = None
    scratch: tempfile.TemporaryDirectory | None = None


_cache_lock = threading.Lock()


def _encoder(app: Any) -> tuple[Path, dict[str, np.ndarray]]:
    settings = app.ctx.settings
    data_dir = settings.export_paths.training_data
    archive = latest_model(data_dir.parent / "models")
    with _cache_lock:
        cache: EncoderCache = app.ctx.__dict__.setdefault("discovery_cache", EncoderCache())
        source = archive or settings.discovery_encoder
        key = (str(source), archive.stat().st_mtime if archive else 0.0)
        if cache.key != key:
            if archive is not None:
                scratch = tempfile.TemporaryDirectory(prefix="shopdesk-discovery-")
                model_dir = encoder_dir_from_archive(archive, Path(scratch.name))
            else:
                from bot.nlu.base_model import packaged_minilm_path

                scratch, model_dir = None, settings.discovery_encoder or packaged_minilm_path()
            if cache.scratch is not None:
                cache.scratch.cleanup()
            intents = intent_embeddings(model_dir, data_dir)
            cache.key, cache.model_dir, cache.intents, cache.scratch = (
                key,
                model_dir,
                intents,
                scratch,
            )
        return cache.model_dir, cache.intents


def find_clusters(app: Any) -> tuple[list[Candidate], list[Cluster]]:
    """Unreviewed candidates from the log and their clusters (blocking: run in a thread)."""
    candidates = discovery_candidates(app.ctx.settings.db_url, CANDIDATE_LIMIT)
    if not candidates:
        return [], []
    model_dir, intents = _encoder(app)
    distance = app.ctx.settings.discovery_distance
    return candidates, cluster_candidates(candidates, model_dir, intents, distance)


def _notice(args: Any) -> str | None:
    done, count = args.get("done"), args.get("count") or ""
    if done not in DONE or not count.isdigit():
        return None
    return f"{int(count)} message{'' if count == '1' else 's'} {DONE[done]}."


async def _show(request: Request, error: str | None = None, status: int = 200) -> HTTPResponse:
    ctx = request.app.ctx
    candidates, clusters = await in_thread(find_clusters, request.app)
    new_intents = await in_thread(new_intent_names, ctx.engine)
    texts = {c.event_id: c for c in candidates}
    return render(
        request,
        "discovery.html",
        status=status,
        error=error,
        notice=None if error else _notice(request.args),
        groups=[(found, [texts[i] for i in found.members]) for found in clusters],
        candidates=len(candidates),
        unclustered=len(candidates) - sum(found.size for found in clusters),
        intents=[*ctx.intents, *(name for name in new_intents if name not in ctx.intents)],
        new_intents=new_intents,
    )


@bp.get("/discover")
async def discovery_page(request: Request):
    return await _show(request)


def _event_ids(values: list[str]) -> list[int]:
    if not values:
        raise DiscoveryPageError("Tick at least one message of the group.")
    if len(values) > CANDIDATE_LIMIT:
        raise DiscoveryPageError(f"At most {CANDIDATE_LIMIT} messages can be labelled at once.")
    try:
        return sorted({int(value) for value in values})
    except ValueError as error:
        raise DiscoveryPageError("Those are not customer messages of this page.") from error


def _decision(request: Request) -> tuple[str, dict[str, Any], str | None]:
    """(action, the review to store, the new intent to record first) from the form."""
    form, known = request.form, request.app.ctx.intents
    action = form.get("action")
    if action == "exclude":
        return action, {"excluded": True}, None
    if action == "label":
        intent = form.get("intent") or ""
        allowed = set(known) | set(new_intent_names(request.app.ctx.engine))
        if intent not in allowed:
            raise DiscoveryPageError("Choose an intent from the list, or name a new one.")
        return action, {"corrected_intent": intent}, None
    if action == "new":
        try:
            name = check_new_intent_name(form.get("new_intent") or "", known)
        except NewIntentError as error:
            raise DiscoveryPageError(str(error)) from error
        return action, {"corrected_intent": name}, name
    raise DiscoveryPageError("Press Label, Exclude or Name new intent.")


@bp.post("/discover/label")
async def label_cluster(request: Request):
    """Store one decision for the ticked messages of a group; all are checked first."""
    ctx = request.app.ctx
    try:
        action, changes, new_intent = _decision(request)
        wanted = _event_ids(request.form.getlist("event_id") or [])
    except DiscoveryPageError as error:
        return await _show(request, str(error), status=400)
    found = await in_thread(unreviewed_messages, ctx.engine, wanted)
    if len(found) != len(wanted):
        error = (
            f"{len(wanted) - len(found)} of these {len(wanted)} messages were reviewed meanwhile "
            "or are not customer messages. Nothing was stored; here are the groups as they are now."
        )
        return await _show(request, error, status=409)
    who = request.ctx.session.member.username
    try:
        if new_intent is not None:
            await in_thread(add_new_intent, ctx.engine, new_intent, who, ctx.intents)
        await in_thread(partial(ctx.reviews.review_messages, found, who, **changes))
    except (NewIntentError, ReviewError) as error:
        return await _show(request, str(error), status=400)
    return redirect(f"/discover?done={action}&count={len(found)}")
