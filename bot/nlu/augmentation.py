"""Training-time noise: the ways real customers' messages differ from tidy examples.

Each epoch a share of the training texts is replaced by a noisy copy: keyboard typos,
dropped, doubled or swapped letters, everything in lower case, punctuation gone, or a filler
opener in front. The label stays; the model learns that these changes do not change the
intent. Noise is drawn from a seeded `random.Random`, so training stays repeatable.
"""

from __future__ import annotations

import random
import string

# Neighbouring keys on a QWERTY keyboard, for substitution typos.
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _row in _KEYBOARD_ROWS:
    for _i, _char in enumerate(_row):
        _NEIGHBOURS[_char] = _row[max(0, _i - 1) : _i] + _row[_i + 1 : _i + 2]

# Openers customers put before the actual request; domain-neutral on purpose.
FILLER_OPENERS = (
    "hi",
    "hello",
    "hey there",
    "help me",
    "please help",
    "quick question",
    "i need help",
    "could you help me",
    "i want assistance to",
    "can u tell me",
    "hi so basically",
    "excuse me",
)


def _typo(text: str, rng: random.Random) -> str:
    letters = [i for i, char in enumerate(text) if char.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters)
    kind = rng.randrange(4)
    if kind == 0:  # dropped letter
        return text[:i] + text[i + 1 :]
    if kind == 1:  # doubled letter
        return text[:i] + text[i] + text[i:]
    if kind == 2 and i + 1 < len(text):  # swapped neighbours
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    neighbours = _NEIGHBOURS.get(text[i].lower())
    if not neighbours:
        return text
    return text[:i] + rng.choice(neighbours) + text[i + 1 :]


def _no_punctuation(text: str) -> str:
    kept = text.translate(str.maketrans("", "", string.punctuation.replace("@", "")))
    return " ".join(kept.split())


def noisy_copy(text: str, rng: random.Random) -> str:
    """One noisy variant of `text`: one to three edits of the kinds above."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.5:
            text = _typo(text, rng)
        elif kind < 0.7:
            text = text.lower()
        elif kind < 0.85:
            text = _no_punctuation(text)
        else:
            text = f"{rng.choice(FILLER_OPENERS)} {text}"
    return text


def augment(texts: list[str], probability: float, rng: random.Random) -> list[str]:
    """`texts` with each one replaced by a noisy copy with the given probability."""
    if probability <= 0:
        return list(texts)
    return [noisy_copy(text, rng) if rng.random() < probability else text for text in texts]
