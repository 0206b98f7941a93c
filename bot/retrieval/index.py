"""BM25 over past transcripts that scores only the documents sharing a term with the query.

`BM25Okapi.get_scores` walks every document in Python for every query term. A document
that shares no term with the query scores exactly 0, so an inverted index (term -> ids of
the documents containing it) yields every document that can score above 0; rank-bm25's own
`get_batch_scores` scores just those with the same formula, hence the same floats and the
same top-k as scoring everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi

from bot.retrieval.text import tokenize


@dataclass(frozen=True)
class Transcript:
    """One past exchange: what a customer asked and what our agent answered."""

    id: str
    question: str
    answer: str
    date: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Hit:
    transcript: Transcript
    score: float


def top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (id, score) pairs with a score above 0: score descending, then id ascending."""
    positive = scores > 0
    scores, ids = scores[positive], ids[positive]
    order = np.lexsort((ids, -scores))[:k]
    return [(int(ids[i]), float(scores[i])) for i in order]


class TranscriptIndex:
    """An immutable BM25 index over transcript questions (and their tags)."""

    def __init__(self, transcripts: Sequence[Transcript], k1: float = 1.5, b: float = 0.75) -> None:
        self.transcripts = list(transcripts)
        corpus = [tokenize(" ".join((t.question, *t.tags))) for t in self.transcripts]
        self.bm25 = BM25Okapi(corpus, k1=k1, b=b) if corpus else None
        if self.bm25 is not None:
            # get_batch_scores indexes doc_len with the candidate ids on every call; an array
            # makes that a cheap fancy index instead of a list-to-array copy.
            self.bm25.doc_len = np.asarray(self.bm25.doc_len)
        postings: dict[str, list[int]] = defaultdict(list)
        for doc_id, terms in enumerate(corpus):
            for term in set(terms):
                postings[term].append(doc_id)
        self.postings = {term: np.array(ids, dtype=np.int64) for term, ids in postings.items()}

    def __len__(self) -> int:
        return len(self.transcripts)

    def candidates(self, terms: Sequence[str]) -> np.ndarray:
        """Ids of every document containing at least one of `terms`, ascending."""
        lists = [self.postings[term] for term in set(terms) if term in self.postings]
        if not lists:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(lists))

    def search_terms(self, terms: Sequence[str], k: int = 5) -> list[tuple[int, float]]:
        """Top-k (document id, BM25 score) for already tokenized query terms."""
        if self.bm25 is None:
            return []
        ids = self.candidates(terms)
        if len(ids) == 0:
            return []
        scores = np.asarray(self.bm25.get_batch_scores(list(terms), ids))
        return top_k(scores, ids, k)

    def search(self, text: str, k: int = 5) -> list[Hit]:
        return [
            Hit(self.transcripts[doc_id], score)
            for doc_id, score in self.search_terms(tokenize(text), k)
        ]
