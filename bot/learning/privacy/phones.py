"""Phone numbers, by Google's libphonenumber (`phonenumbers`) for each region the store serves.

``PhoneNumberMatcher`` with ``Leniency.VALID`` already rejects dates, times, prices and
numbers glued to letters (tracking codes); overlapping hits of several regions are merged.
The text it reads has its order numbers blanked out (`order_numbers.py`).
"""

from __future__ import annotations

import re

from phonenumbers import Leniency, PhoneNumberMatcher

from .spans import Span, merge

# Regions the store delivers to: national phone formats are read as these countries write them.
PHONE_REGIONS = ("GB", "US", "IE", "DE", "FR", "NL", "ES", "IT", "AT", "BE")

_DIGIT_GROUP_RE = re.compile(r"\d+")
# Seven or more digits with short separators: the only places a phone number can be.
_PHONE_RUN_RE = re.compile(r"\d(?:[\s().\-/–]{0,3}\d){6,}")


def find_phones(shadow: str) -> list[Span]:
    """Phone numbers in `shadow` (the text with order numbers hidden), matched only in
    windows around long digit runs.

    Why windows: the matcher scans the whole text once per region; on a long transcript
    that is most of the time spent, for text that holds no phone number.
    """
    if sum(ch.isdigit() for ch in shadow) < 7:
        return []
    windows = merge(
        (max(0, m.start() - 24), min(len(shadow), m.end() + 24))
        for m in _PHONE_RUN_RE.finditer(shadow)
    )
    spans: set[Span] = set()
    for w_start, w_end in windows:
        window = shadow[w_start:w_end]
        for region in PHONE_REGIONS:
            for match in PhoneNumberMatcher(window, region, leniency=Leniency.VALID):
                groups = _DIGIT_GROUP_RE.findall(match.raw_string)
                if sum(len(g) for g in groups) < 7:
                    continue
                spans.add((w_start + match.start, w_start + match.end))
    return merge(spans)
