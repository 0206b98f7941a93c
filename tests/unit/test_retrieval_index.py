"""The inverted-index BM25 returns exactly what scoring every document with rank-bm25 returns."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from bot.answers.retrieval.index import Transcript, TranscriptIndex, top_k
from bot.answers.retrieval.text import tokenize


def random_corpus(rng: random.Random, n_docs: int, vocabulary: int) -> list[list[str]]:
    words = [f"w{i}" for i in range(vocabulary)]
    # Zipf-like: a few words in most documents (negative idf, floored by epsilon), a long tail.
    weights = [1 / (rank + 1) for rank in range(vocabulary)]
    return [rng.choices(words, weights, k=rng.randint(0, 12)) for _ in range(n_docs)]


def index_over(corpus: list[list[str]]) -> TranscriptIndex:
    transcripts = [
        Transcript(id=str(i), question=" ".join(doc), answer=f"answer {i}")
        for i, doc in enumerate(corpus)
    ]
    return TranscriptIndex(transcripts)


@pytest.mark.parametrize("seed", range(12))
def test_top_k_equals_scoring_every_document(seed):
    rng = random.Random(seed)
    corpus = random_corpus(rng, n_docs=rng.randint(1, 400), vocabulary=rng.randint(5, 80))
    index = index_over(corpus)
    plain = BM25Okapi([tokenize(" ".join(doc)) for doc in corpus])
    every_id = np.arange(len(corpus))
    for _ in range(25):
        query = tokenize(" ".join(rng.choices([f"w{i}" for i in range(90)], k=rng.randint(1, 6))))
        k = rng.randint(1, 15)
        expected = top_k(plain.get_scores(query), every_id, k)
        assert index.search_terms(query, k) == expected


def test_agrees_with_get_top_n_when_there_are_no_ties():
    rng = random.Random(99)
    corpus = random_corpus(rng, n_docs=300, vocabulary=400)
    index = index_over(corpus)
    plain = BM25Okapi([tokenize(" ".join(doc)) for doc in corpus])
    checked = 0
    for _ in range(300):
        query = tokenize(" ".join(rng.choices([f"w{i}" for i in range(400)], k=3)))
        scores = plain.get_scores(query)
        positive = np.sort(scores[scores > 0])[::-1][:6]
        if len(positive) < 5 or len(set(positive)) < len(positive):
            continue  # ties or too few matches: get_top_n's order is then arbitrary
        baseline = plain.get_top_n(query, list(range(len(corpus))), n=5)
        assert [doc_id for doc_id, _ in index.search_terms(query, 5)] == baseline
        checked += 1
    assert checked >= 10


def test_no_shared_term_means_no_hit_and_empty_index_is_fine():
    index = index_over([["parcel", "damaged"], ["gift", "card"]])
    assert index.search("weather tomorrow") == []
    assert index.search("") == []
    assert TranscriptIndex([]).search("parcel") == []


def test_tokenize_is_shared_and_normalises():
    assert tokenize("DAMAGED parcels!!") == tokenize("damaged parcel")
    assert tokenize("the and of") == []
    assert "not" in tokenize("not delivered")  # negations matter for support questions
    assert (
        tokenize("Größe 38 Stiefel") == tokenize("GRÖSSE 38 stiefel") == ["grösse", "38", "stiefel"]
    )
    assert tokenize("我的订单") == ["我的订单"]
