"""The held-back share of reviewed messages: a test set the retrain gate scores on that comes
from the same customers as the training data, and is never trained on.

The sets written apart from the training data (`tests/nlu_heldout.yml` and the others) could
not tell a model from one trained on 1,000 more reviewed messages. Messages like the ones
being reviewed can: `shopdesk export` writes one reviewed message in `HELD_BACK_SHARE` to
`tests/reviewed_heldout.yml` instead of `data/nlu/reviewed.yml`.

Which messages: a stable hash of the normalised, masked text decides, so the same words always
fall on the same side, whichever conversation or export they come from. A message an earlier
export already wrote stays where it is: moving a trained-on message into the test set would let
the served model (which learned it) beat every candidate (which did not) on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.learning.nlu_files import read_nlu_messages, write_nlu_messages
from bot.settings import PROJECT_ROOT

# One reviewed message in this many is held back from training (20 %). Change it only with
# both reviewed files deleted: messages already written keep their side.
HELD_BACK_SHARE = 5
HELD_BACK_FILE = PROJECT_ROOT / "tests" / "reviewed_heldout.yml"
HELD_BACK_HEADER = (
    "# Written by `shopdesk export`: reviewed messages held back from training, scored by "
    "`shopdesk retrain`. Re-export merges.\n"
)


def in_held_back_share(key: str) -> bool:
    """Whether the hash puts this normalised, masked message in the held-back share.

    SHA-256 rather than `hash()`: Python salts `hash()` per process, so it would move a
    message from one side to the other between two exports.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % HELD_BACK_SHARE == 0


def goes_to_held_back(key: str, training: dict[str, Any], held_back: dict[str, Any]) -> bool:
    """The side of a reviewed message: where an earlier export put it, else the hash's."""
    if key in training:
        return False
    return key in held_back or in_held_back_share(key)


def other_test_sets(held_out: Iterable[Path], held_back: Path) -> list[Path]:
    """The gate's test sets export must not write from, without the held-back file.

    The held-back messages are in a gate set by design; counted as "in a test set, skipped",
    each export would empty the file that the one before wrote.
    """
    own = held_back.resolve()
    return [path for path in held_out if path.resolve() != own]


class ReviewedSides:
    """Reviewed examples (normalised text -> Rasa `Message`) on the two sides export writes,
    as it merges them: `training` (the NLU data) and `held_back` (the gate's share)."""

    def __init__(self, training: dict[str, Any], held_back: dict[str, Any]) -> None:
        self.training, self.held_back = training, held_back
        self.training_added = self.held_back_added = 0

    @classmethod
    def read(cls, training: Path, held_back: Path) -> ReviewedSides:
        """What earlier exports wrote to the two files (absent files are empty)."""
        return cls(read_nlu_messages(training), read_nlu_messages(held_back))

    def drop(self, key: str) -> None:
        """Out of both files: excluded by staff, or in another test set the gate scores on."""
        self.training.pop(key, None)
        self.held_back.pop(key, None)

    def put(self, key: str, message: Any) -> None:
        """Add or update a reviewed example on its side (`goes_to_held_back`)."""
        into_held_back = goes_to_held_back(key, self.training, self.held_back)
        side = self.held_back if into_held_back else self.training
        if key not in side:
            self.held_back_added += into_held_back
            self.training_added += not into_held_back
        side[key] = message

    def drop_test_messages(self, held_out: set[str], hand_written: Iterable[str]) -> int:
        """Drop what another gate test set now has, from both sides (returns how many), and
        held-back messages that training data has: the gate scores them as never seen."""
        dropped = 0
        for side in (self.training, self.held_back):
            for key in [key for key in side if key in held_out]:
                dropped += 1
                del side[key]
        for key in (set(hand_written) | set(self.training)) & set(self.held_back):
            del self.held_back[key]
        return dropped

    def write(self, training: Path, training_header: str, held_back: Path) -> tuple[int, int]:
        """Both files, atomically; returns how many examples each holds."""
        return (
            write_nlu_messages(training, training_header, self.training),
            write_nlu_messages(held_back, HELD_BACK_HEADER, self.held_back),
        )
