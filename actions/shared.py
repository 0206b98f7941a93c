"""What the actions answer from, loaded once per action-server process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml
from sqlalchemy.exc import SQLAlchemyError

from bot.answers.faq import FaqBook, FaqError
from bot.answers.order_lookups import LookupLimitsError, OrderLookups
from bot.answers.orders import OrderBook
from bot.answers.retrieval.search import TranscriptSearch
from bot.answers.retrieval.transcripts import TranscriptFileError
from bot.answers.store_entities import StoreEntities, load_store_entities
from bot.settings import PROJECT_ROOT
from bot.storage.handoffs_and_feedback import Records


@dataclass(frozen=True)
class Resources:
    faq: FaqBook
    search: TranscriptSearch
    orders: OrderBook
    records: Records
    lookups: OrderLookups
    store_entities: StoreEntities


@lru_cache(maxsize=1)
def resources() -> Resources:
    """Load and check everything; an unusable file is an ImportError, which stops rasa-sdk."""
    try:
        intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]
        return Resources(
            faq=FaqBook.load(
                PROJECT_ROOT / "data" / "faq.yml", PROJECT_ROOT / "data" / "store.yml", intents
            ),
            search=TranscriptSearch(PROJECT_ROOT / "data" / "transcripts"),
            orders=OrderBook(),
            records=Records(),
            lookups=OrderLookups(),
            store_entities=load_store_entities(PROJECT_ROOT / "data" / "store.yml"),
        )
    except (
        FaqError,
        LookupLimitsError,
        TranscriptFileError,
        OSError,
        SQLAlchemyError,
        yaml.YAMLError,
        KeyError,
    ) as error:
        raise ImportError(f"shopdesk actions cannot start: {error}") from error
