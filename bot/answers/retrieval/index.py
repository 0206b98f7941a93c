"""BM25 over past transcripts without walking every document in Python for every query.

`BM25Okapi.get_scores` loops over all documents in Python for each query term. Here an
inverted index (term -> ids and term frequencies of the documents containing it) lets numpy
compute the same formula, in the same order of operations, for just the documents that contain
a query term (all others score exactly 0). That preselects the top-k candidates; rank-bm25's
own `get_batch_scores` then scores them, so the returned scores are rank-bm25's and the top-k
is the one scoring everything gives (tested against `get_scores` on random corpora).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi

from bot.answers.retrieval.text import tokenize


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
        self.length_norm = np.zeros(0)
        if self.bm25 is not None:
            # get_batch_scores indexes doc_len with the candidate ids on every call; an array
            # makes that a cheap fancy index instead of a list-to-array copy.
            self.bm25.doc_len = np.asarray(self.bm25.doc_len)
            bm25 = self.bm25
            # Exactly rank-bm25's expression, element by element.
            self.length_norm = bm25.k1 * (1 - bm25.b + bm25.b * bm25.doc_len / bm25.avgdl)
        ids: dict[str, list[int]] = defaultdict(list)
        freqs: dict[str, list[int]] = defaultdict(list)
        for doc_id, frequencies in enumerate(self.bm25.doc_freqs if self.bm25 else []):
            for term, frequency in frequencies.items():
                ids[term].append(doc_id)
                freqs[term].append(frequency)
        self.postings = {term: np.array(doc_ids, dtype=np.int64) for term, doc_ids in ids.items()}
        self.frequencies = {term: np.array(f, dtype=np.float64) for term, f in freqs.items()}

    def __len__(self) -> int:
        return len(self.transcripts)

    def preselect(self, terms: Sequence[str], k: int) -> np.ndarray:
        """Ids that can be in the top-k: scored with numpy over the query terms' postings."""
        bm25 = self.bm25
        scores = np.zeros(len(self.transcripts))
        for term in terms:  # duplicates too, and in order: as get_scores adds them up
            if term not in self.postings:
                continue
            ids, tf = self.postings[term], self.frequencies[term]
            idf = bm25.idf.get(term) or 0
            scores[ids] += idf * (tf * (bm25.k1 + 1) / (tf + self.length_norm[ids]))
        positive = np.flatnonzero(scores > 0)
        if len(positive) <= k:
            return positive
        kth = np.partition(scores[positive], len(positive) - k)[len(positive) - k]
        # Everything that ties with (or, by float noise, nearly reaches) the k-th best score.
        return positive[scores[positive] >= kth - 1e-9 * max(1.0, abs(kth))]

    def search_terms(self, terms: Sequence[str], k: int = 5) -> list[tuple[int, float]]:
        """Top-k (document id, BM25 score) for already tokenized query terms."""
        if self.bm25 is None:
            return []
        ids = self.preselect(terms, k)
        if len(ids) == 0:
            return []
        scores = np.asarray(self.bm25.get_batch_scores(list(terms), ids))
        return top_k(scores, ids, k)

    def search(self, text: str, k: int = 5) -> list[Hit]:
        return [
            Hit(self.transcripts[doc_id], score)
            for doc_id, score in self.search_terms(tokenize(text), k)
        ]
