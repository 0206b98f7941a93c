"""BM25 retrieval: our inverted-index search vs plain `BM25Okapi.get_top_n`, side by side.

Corpora of 10k, 100k and 1M transcripts are sampled from the words of the real transcripts in
data/transcripts/ (same word frequencies, same question lengths); the queries are real
transcript questions. Each (size, method) runs in a fresh process so that resident memory is
its own. Both methods answer the same queries in the same run.

    .venv/bin/python bench/bm25_benchmark.py                   # writes bench/results/bm25.json
    .venv/bin/python bench/bm25_benchmark.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def real_transcripts():
    from bot.answers.retrieval.transcripts import load_transcripts

    return load_transcripts(ROOT / "data" / "transcripts")


def synthetic_questions(n: int, seed: int) -> list[str]:
    """Questions with the real transcripts' word distribution and lengths."""
    real = [t.question.split() for t in real_transcripts()]
    words = [word for question in real for word in question]
    lengths = [len(question) for question in real]
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=rng.choice(lengths))) for _ in range(n)]


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(size: int, method: str, n_queries: int, seed: int) -> dict:
    from rank_bm25 import BM25Okapi

    from bot.answers.retrieval.index import Transcript, TranscriptIndex
    from bot.answers.retrieval.text import tokenize

    questions = synthetic_questions(size, seed)
    queries = [t.question for t in random.Random(seed).sample(real_transcripts(), n_queries)]
    before = resident_mib()
    started = time.perf_counter()
    if method == "ours":
        index = TranscriptIndex(
            [Transcript(id=str(i), question=q, answer="") for i, q in enumerate(questions)]
        )

        def search(query: str):
            return [doc_id for doc_id, _ in index.search_terms(tokenize(query), 5)]

    else:
        documents = list(range(size))
        plain = BM25Okapi([tokenize(q) for q in questions])

        def search(query: str):
            return plain.get_top_n(tokenize(query), documents, n=5)

    build_seconds = time.perf_counter() - started
    del questions
    memory = resident_mib() - before
    search(queries[0])  # warm-up
    timings, results = [], []
    for query in queries:
        started = time.perf_counter()
        results.append(search(query))
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "size": size,
        "method": method,
        "queries": n_queries,
        "build_seconds": build_seconds,
        "index_memory_mib": memory,
        "resident_mib": resident_mib(),
        "ms_p50": float(np.percentile(timings, 50)),
        "ms_p95": float(np.percentile(timings, 95)),
        "ms_mean": float(np.mean(timings)),
        "results": results,
    }


def plot(results: dict, path: Path) -> None:
    """ms per query against corpus size, ours vs plain rank-bm25 (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    sizes = [row["size"] for row in results["rows"]]
    for method, label, marker in (
        ("ours", "ours (inverted index)", "o"),
        ("plain", "plain get_top_n", "s"),
    ):
        for percentile, style in (("ms_p50", "-"), ("ms_p95", "--")):
            axes.plot(
                sizes,
                [row[method][percentile] for row in results["rows"]],
                marker + style,
                label=f"{label} {percentile[3:]}",
            )
    axes.axhline(20, color="grey", linestyle=":", linewidth=1)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("past transcripts")
    axes.set_ylabel("ms per query")
    axes.set_title("BM25 transcript search, one query, 2-core CPU")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "bm25.json")
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw the plot from --out, measure nothing"
    )
    parser.add_argument("--worker", nargs=2, metavar=("SIZE", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        size, method = int(args.worker[0]), args.worker[1]
        print(json.dumps(worker(size, method, args.queries, args.seed)))
        return

    if args.plot_only:
        plot(json.loads(args.out.read_text()), args.out.with_suffix(".png"))
        return

    rows = []
    for size in args.sizes:
        pair = {}
        for method in ("ours", "plain"):
            output = subprocess.run(
                [sys.executable, __file__, "--worker", str(size), method]
                + ["--queries", str(args.queries), "--seed", str(args.seed)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            pair[method] = json.loads(output.strip().splitlines()[-1])
        ours, plain = pair["ours"], pair["plain"]
        # Same top-5 where the plain ranking has no ties at the cut (argsort order is arbitrary).
        same = sum(a == b for a, b in zip(ours["results"], plain["results"], strict=True))
        for row in (ours, plain):
            row.pop("results")
        rows.append(
            {
                "size": size,
                "ours": ours,
                "plain": plain,
                "speedup_p50": plain["ms_p50"] / ours["ms_p50"],
                "speedup_p95": plain["ms_p95"] / ours["ms_p95"],
                "identical_top5_queries": same,
            }
        )
        print(
            f"{size:>9} docs: ours p50 {ours['ms_p50']:.2f} ms p95 {ours['ms_p95']:.2f} ms "
            f"({ours['index_memory_mib']:.0f} MiB) | plain p50 {plain['ms_p50']:.1f} ms "
            f"p95 {plain['ms_p95']:.1f} ms ({plain['index_memory_mib']:.0f} MiB) | "
            f"speed-up p50 x{rows[-1]['speedup_p50']:.0f} | same top-5 {same}/{args.queries}",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "python bench/bm25_benchmark.py --sizes " + " ".join(map(str, args.sizes))
    args.out.write_text(json.dumps({"command": command, "rows": rows}, indent=2))
    plot({"rows": rows}, args.out.with_suffix(".png"))
    print(f"written to {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
