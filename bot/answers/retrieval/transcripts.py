"""Reads past support transcripts (JSON Lines) and refuses malformed ones by file and line."""

from __future__ import annotations

import json
from pathlib import Path

from bot.answers.retrieval.index import Transcript

REQUIRED_FIELDS = ("id", "question", "answer")


class TranscriptFileError(ValueError):
    """A transcripts file that cannot be used; the message names the file and line."""


def _transcript_from_line(line: str, where: str) -> Transcript:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise TranscriptFileError(f"{where}: not valid JSON ({error.msg})") from error
    if not isinstance(row, dict):
        raise TranscriptFileError(f"{where}: expected a JSON object")
    for field in REQUIRED_FIELDS:
        if not isinstance(row.get(field), str) or not row[field].strip():
            raise TranscriptFileError(f"{where}: '{field}' must be a non-empty string")
    tags = row.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise TranscriptFileError(f"{where}: 'tags' must be a list of strings")
    return Transcript(
        id=row["id"],
        question=row["question"],
        answer=row["answer"],
        date=str(row.get("date", "")),
        tags=tuple(tags),
        source=str(row.get("source", "")),
    )


def load_transcripts(directory: Path) -> list[Transcript]:
    """Every transcript in `directory/*.jsonl`, in file-name order; ids must be unique."""
    transcripts: list[Transcript] = []
    seen: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                transcript = _transcript_from_line(line, where)
                if transcript.id in seen:
                    raise TranscriptFileError(
                        f"{where}: id '{transcript.id}' already used at {seen[transcript.id]}"
                    )
                seen[transcript.id] = where
                transcripts.append(transcript)
    return transcripts
