"""Writes the intents staff named in the review app into the project, for the next training.

Three places, each only added to:

- `domain.yml`: the name joins `intents:`, as one new line after the last one;
- `data/faq.yml`: an answer stub marked `unfilled: true`, which the action server loads but
  never says (bot/answers/faq.py), so a new intent is answered as an unsure question until a person
  writes its answer;
- `data/reviewed_rules.yml` (ours, with a header): the rule that answers the intent.

`domain.yml` and `data/faq.yml` are hand-written, so they are never re-serialised: the new
lines are inserted into the text as it is (comments and wording stay), the result is parsed
and compared with the original, and written atomically only when nothing but the addition
changed. Running it again adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot.learning.nlu_files import atomic_write

DOMAIN_NOTE = "  # named by staff in the review app (shopdesk export)"
RULES_HEADER = (
    "# Written by `shopdesk export`: rules that answer the intents staff named in the review\n"
    "# app. Re-export merges; move a rule to data/rules.yml to edit it by hand.\n"
)
FAQ_STUB = """\
  {name}:
    # Added by `shopdesk export` on {day} for the new intent staff named in the review app.
    # Write the answer in `template:`, then delete the `unfilled: true` line. Until then the
    # bot never says this entry: it answers these questions as unsure ones (past answers,
    # then a person).
    unfilled: true
    template: ""
"""


class ProjectFileError(RuntimeError):
    """A project file is not shaped as expected; nothing was written to it."""


def _load(path: Path, text: str) -> dict[str, Any]:
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ProjectFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise ProjectFileError(f"{path}: expected a mapping at the top")
    return content


def _is_top_level_key(line: str) -> bool:
    return bool(line) and not line[0].isspace() and line[0] not in "#-" and ":" in line


def _section(lines: list[str], key: str, path: Path) -> tuple[int, int]:
    """Index of the `key:` line and of the first line after its block (the next top-level key
    or the end); comments and blank lines right before the next key belong to that key."""
    start = next((i for i, line in enumerate(lines) if line.rstrip() == f"{key}:"), None)
    if start is None:
        raise ProjectFileError(f"{path}: no top-level '{key}:' line to add to")
    end = next((i for i in range(start + 1, len(lines)) if _is_top_level_key(lines[i])), None)
    end = len(lines) if end is None else end
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return start, end


def _checked(path: Path, before: dict, after_text: str, key: str, expected: Any) -> None:
    """The inserted text parses, `key` became `expected` and nothing else changed."""
    after = _load(path, after_text)
    if after.get(key) != expected or {k: v for k, v in after.items() if k != key} != {
        k: v for k, v in before.items() if k != key
    }:
        raise ProjectFileError(f"{path}: adding to '{key}:' would change more than that; edit it")


def _intent_name(entry: Any) -> str:
    return next(iter(entry)) if isinstance(entry, dict) else str(entry)


def add_to_domain(path: Path, names: Iterable[str]) -> list[str]:
    """Add the intents not yet in `domain.yml`'s `intents:`; returns those added."""
    text = path.read_text(encoding="utf-8")
    before = _load(path, text)
    intents = list(before.get("intents") or [])
    new = [name for name in dict.fromkeys(names) if name not in map(_intent_name, intents)]
    if not new:
        return []
    lines = text.splitlines(keepends=True)
    start, end = _section(lines, "intents", path)
    items = [i for i in range(start + 1, end) if lines[i].lstrip().startswith("- ")]
    if not items:
        raise ProjectFileError(f"{path}: 'intents:' has no list to add to")
    last = items[-1]
    indent = lines[last][: len(lines[last]) - len(lines[last].lstrip())]
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines[last + 1 : last + 1] = [f"{indent}- {name}{DOMAIN_NOTE}\n" for name in new]
    after = "".join(lines)
    _checked(path, before, after, "intents", intents + new)
    atomic_write(path, after)
    return new


def add_faq_stubs(path: Path, names: Iterable[str], day: dt.date | None = None) -> list[str]:
    """Add an unfilled answer for each intent `data/faq.yml` has no answer for; returns those."""
    text = path.read_text(encoding="utf-8")
    before = _load(path, text)
    answers = before.get("answers")
    if not isinstance(answers, dict):
        raise ProjectFileError(f"{path}: expected an 'answers:' mapping")
    new = [name for name in dict.fromkeys(names) if name not in answers]
    if not new:
        return []
    day = day or dt.date.today()
    lines = text.splitlines(keepends=True)
    _, end = _section(lines, "answers", path)
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    stubs = "".join("\n" + FAQ_STUB.format(name=name, day=day.isoformat()) for name in new)
    lines.insert(end, stubs)
    after = "".join(lines)
    expected = {**answers, **{name: {"unfilled": True, "template": ""} for name in new}}
    _checked(path, before, after, "answers", expected)
    atomic_write(path, after)
    return new


def _rules(name: str) -> list[dict[str, Any]]:
    """The rules of data/rules.yml's FAQ answers, for one more intent: answered on its own
    and in the middle of the order form (which then goes on)."""
    return [
        {
            "rule": f"answer {name}",
            "steps": [
                {"intent": name},
                {"action": "action_answer"},
                {"action": "utter_anything_else"},
            ],
        },
        {
            "rule": f"{name} in the middle of the order form",
            "condition": [{"active_loop": "order_form"}],
            "steps": [
                {"intent": name},
                {"action": "action_answer"},
                {"action": "order_form"},
                {"active_loop": "order_form"},
            ],
        },
    ]


def write_rules(path: Path, names: Iterable[str]) -> list[str]:
    """Rules for `names` merged into our rules file; returns the intents newly given rules.
    A file at `path` without our header is hand-written and refused."""
    existing: list[dict[str, Any]] = []
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if not text.startswith(RULES_HEADER):
            raise ProjectFileError(
                f"{path} exists and was not written by `shopdesk export`; refusing to overwrite it"
            )
        existing = list(_load(path, text).get("rules") or [])
    covered = {step["intent"] for rule in existing for step in rule["steps"] if "intent" in step}
    new = [name for name in dict.fromkeys(names) if name not in covered]
    if not new:
        return []
    rules = existing + [rule for name in new for rule in _rules(name)]
    body = yaml.safe_dump({"version": "3.1", "rules": rules}, sort_keys=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, RULES_HEADER + body)
    return new


def export_new_intents(
    named: Iterable[str], training_file: Path, domain: Path, faq: Path, rules: Path
) -> list[str]:
    """Write each named intent that has examples in `training_file` (the export's NLU file)
    into the domain, the answer stubs and the rules; returns the intents written anew.
    An intent whose examples all went elsewhere (held back) waits for the next export."""
    from bot.learning.nlu_files import examples_of

    trained = set(examples_of(training_file).values()) if training_file.exists() else set()
    names = [name for name in named if name in trained]
    if not names:
        return []
    added = add_to_domain(domain, names)
    add_faq_stubs(faq, names)
    write_rules(rules, names)
    return added
