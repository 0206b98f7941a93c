"""The language signal: py3langid as it comes vs our LanguageDetector, side by side.

(The frustration signal has its own: bench/frustration_benchmark.py.)

- Language, on `tests/language_heldout.yml`: py3langid as it comes (all 97 languages, top
  language != en means "not English"), py3langid restricted to our candidate languages, and
  `bot.nlu.language_detector.LanguageDetector` with its guards: accuracy, share of non-English
  messages caught, and false alarms (English messages called another language) on the set's
  English part, on the 3,080 BANKING77 test messages (../shared/datasets/banking77/test.csv,
  written by others) and on `tests/nlu_heldout.yml`.
- Per-message latency of each component's `process` (one message at a time, as the server
  parses).

The thresholds were tuned on the small development lists below (DEV_*), never on the
held-out file.

    .venv/bin/python bench/signals_benchmark.py     # -> bench/results/signals.json
"""

from __future__ import annotations

import csv
import json
import os
import re
import statistics
import time
from pathlib import Path

import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE_SET = ROOT / "tests" / "language_heldout.yml"
NLU_HELDOUT = ROOT / "tests" / "nlu_heldout.yml"
BANKING77 = ROOT.parent / "shared" / "datasets" / "banking77" / "test.csv"
RESULT = ROOT / "bench" / "results" / "signals.json"

DEV_OTHER_LANGUAGE = [
    ("de", "Hallo, ich habe letzte Woche Schuhe bestellt und sie sind immer noch nicht da"),
    ("de", "kann ich die jacke umtauschen"),
    ("fr", "Bonjour, je voudrais retourner ma robe, elle est trop petite"),
    ("fr", "est-ce que vous livrez en Belgique"),
    ("es", "hola quiero devolver unos zapatos que me quedan grandes"),
    ("it", "buongiorno, il mio ordine non è ancora arrivato"),
    ("nl", "ik wil mijn bestelling annuleren alstublieft"),
    ("pl", "dzień dobry, kiedy przyjdzie moja paczka"),
    ("pt", "olá, gostaria de saber onde está a minha encomenda"),
    ("sv", "kan jag byta storlek på byxorna"),
    ("tr", "merhaba siparişim nerede"),
    ("ru", "здравствуйте, где мой заказ"),
]
DEV_ENGLISH = [
    "ok", "thx", "PayPal?", "482913", "anna.berg@example.org", "merci", "danke",
    "how do i change name?", "Can I exchange currencies?", "Card payment declined?",
    "is the Larkspur linen duvet in stock", "size 38 in the Alba sandals", "Bonjour",
]  # fmt: skip


def load_languages() -> list[tuple[str, str]]:
    data = yaml.safe_load(LANGUAGE_SET.read_text())
    return [(code, str(text)) for code, texts in data.items() for text in texts]


def nlu_heldout_texts() -> list[str]:
    """Example texts of a Rasa NLU file, entity annotations `[x](y)` reduced to `x`."""
    texts = []
    for block in yaml.safe_load(NLU_HELDOUT.read_text())["nlu"]:
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                texts.append(re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line[2:]))
    return texts


def banking77_texts() -> list[str]:
    with BANKING77.open(newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def prf(predicted: list[bool], gold: list[bool]) -> dict[str, float]:
    tp = sum(p and g for p, g in zip(predicted, gold, strict=True))
    fp = sum(p and not g for p, g in zip(predicted, gold, strict=True))
    fn = sum(g and not p for p, g in zip(predicted, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "tp": tp, "fp": fp, "fn": fn}  # fmt: skip


def latency_ms(component, texts: list[str]) -> dict[str, float]:
    from rasa.shared.nlu.training_data.message import Message

    timings = []
    for text in texts:
        message = Message(data={"text": text, "intent": {"name": "x", "confidence": 1.0}})
        start = time.perf_counter()
        component.process([message])
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {"mean_ms": round(statistics.fmean(timings), 3),
            "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 3)}  # fmt: skip


def language_results(detector) -> dict:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    raw = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    restricted = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    restricted.set_languages(detector.identifier.nb_classes)
    systems = {
        "py3langid": lambda text: raw.classify(text)[0],
        "py3langid_restricted": lambda text: restricted.classify(text)[0],
        "ours": lambda text: detector.detect(text)["code"],
    }
    labelled = {"dev": DEV_OTHER_LANGUAGE + [("en", t) for t in DEV_ENGLISH],
                "heldout": load_languages()}  # fmt: skip
    english = {"banking77": banking77_texts(), "nlu_heldout": nlu_heldout_texts()}
    out: dict = {name: {"messages": len(rows)} for name, rows in labelled.items()}
    out.update({name: {"messages": len(texts)} for name, texts in english.items()})
    for system, predict in systems.items():
        for name, rows in labelled.items():
            predicted = [predict(text) for _, text in rows]
            other = [(p, c) for p, (c, _) in zip(predicted, rows, strict=True) if c != "en"]
            eng = [p for p, (c, _) in zip(predicted, rows, strict=True) if c == "en"]
            out[name][system] = {
                "accuracy": round(
                    sum(p == c for p, (c, _) in zip(predicted, rows, strict=True)) / len(rows), 4
                ),
                "non_english_caught": round(sum(p != "en" for p, _ in other) / len(other), 4),
                "non_english_right_language": round(sum(p == c for p, c in other) / len(other), 4),
                "english_false_alarms": round(sum(p != "en" for p in eng) / len(eng), 4),
                "misses": [t for p, (c, t) in zip(predicted, rows, strict=True) if p != c],
            }
        for name, texts in english.items():
            alarms = [text for text in texts if predict(text) != "en"]
            out[name][system] = {"false_alarms": len(alarms),
                                 "false_alarm_rate": round(len(alarms) / len(texts), 4),
                                 "examples": alarms[:15]}  # fmt: skip
    return out


def main() -> None:
    from bot.nlu.language_detector import LanguageDetector

    language = LanguageDetector({})
    texts = [text for _, text in load_languages()]
    results = {
        "language": language_results(language),
        "latency": {"LanguageDetector": latency_ms(language, texts), "messages": len(texts)},
        "config": {"LanguageDetector": language.component_config},
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    for name, row in results["language"].items():
        summary = {k: {m: v for m, v in s.items() if m not in ("misses", "examples")}
                   for k, s in row.items() if isinstance(s, dict)}  # fmt: skip
        print(f"language {name} ({row['messages']}): {summary}")
    print("latency", results["latency"])
    print(f"-> {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
