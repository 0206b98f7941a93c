"""Personal names, found by cues around a word and by first-name gazetteers.

Names are masked only with a context cue ("my name is", "I'm", "this is", Mr/Mrs/Dr, "Thanks,
Anna", "for Maria Schmidt") or as a common first name followed by a capitalised surname; words
that are also names ("will", "may", "grace", "bill", "mark", "jean") need a stronger cue.
spaCy, NLTK or Hugging Face NER would need model downloads, which the exporter may not do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .first_names import first_names
from .name_words import (
    AMBIGUOUS,
    CUE_STARTS,
    DETERMINERS,
    GOODS,
    GREETINGS,
    INTRODUCTIONS,
    LABEL_CUES,
    NAME_BRANDS,
    NOT_PERSON,
    SIGN_OFFS,
    STREET_WORDS,
    STRONG_CUES,
    SURNAME_PARTICLES,
    TITLES,
    WEAK_CUES,
)
from .spans import Span
from .words import STOPWORDS, UNITS

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+(?:['’][^\W\d_]+)*)*")


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    text: str
    low: str


def _is_cap(tok: _Tok) -> bool:
    return tok.text[0].isupper() and (len(tok.text) == 1 or not tok.text.isupper())


def _name_part(tok: _Tok) -> tuple[int, str]:
    """End offset and lowercase form without a possessive "'s"."""
    if tok.low.endswith("'s") and len(tok.low) > 3:
        return tok.end - 2, tok.low[:-2]
    return tok.end, tok.low


class _NameFinder:
    """Walks the words of one text once; each rule adds (start, end) spans."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = [
            _Tok(m.start(), m.end(), m.group(), m.group().lower().replace("’", "'"))
            for m in _WORD_RE.finditer(text)
        ]
        self.common, self.known = first_names()
        self.spans: list[Span] = []

    def gap(self, i: int) -> str:
        """The text between token i-1 and token i."""
        return self.text[self.toks[i - 1].end : self.toks[i].start]

    def cue_at(self, i: int, cues: Iterable[tuple[str, ...]]) -> int:
        """Index after the longest cue starting at token i, or -1."""
        best = -1
        for cue in cues:
            k = len(cue)
            if i + k > len(self.toks) or tuple(t.low for t in self.toks[i : i + k]) != cue:
                continue
            if all(self.gap(j).strip() == "" for j in range(i + 1, i + k)):
                best = max(best, i + k)
        return best

    def add(self, first: int, last: int) -> None:
        end, _ = _name_part(self.toks[last])
        self.spans.append((self.toks[first].start, end))

    def surnames(self, j: int, limit: int = 2) -> int:
        """Index of the last capitalised surname word following token j (or j)."""
        last = j
        while last + 1 < len(self.toks) and last - j < limit:
            nxt = self.toks[last + 1]
            gap = self.gap(last + 1)
            initial = len(self.toks[last].text) == 1 and gap in (". ", ".")
            if gap != " " and not initial:
                break
            if nxt.low in SURNAME_PARTICLES and last + 2 < len(self.toks):
                # "Jan de Vries", "Maria van der Berg": take the particles with the surname.
                k = last + 1
                while k < len(self.toks) and self.toks[k].low in SURNAME_PARTICLES:
                    k += 1
                if k < len(self.toks) and _is_cap(self.toks[k]) and self.gap(k) == " ":
                    if self._surname_ok(self.toks[k]):
                        last = k
                        continue
                break
            if not _is_cap(nxt) or not self._surname_ok(nxt):
                break
            last += 1
        return last

    @staticmethod
    def _surname_ok(tok: _Tok) -> bool:
        low = _name_part(tok)[1]
        return not (low in STOPWORDS or low in GOODS or low in STREET_WORDS)

    def followed_by_goods(self, last: int) -> bool:
        nxt = last + 1
        return nxt < len(self.toks) and self.toks[nxt].low in GOODS and self.gap(nxt) == " "

    def is_brand(self, first: int, last: int) -> bool:
        words = [t.low for t in self.toks[first : last + 1]]
        return any(" ".join(words[a : a + 2]) in NAME_BRANDS for a in range(len(words)))

    def ends_line(self, last: int) -> bool:
        rest = self.text[self.toks[last].end :]
        line = rest.split("\n", 1)[0]
        return not any(ch.isalnum() for ch in line)

    def run(self) -> list[Span]:
        toks = self.toks
        n = len(toks)
        for i in range(n):
            # "Mr Smith", "Dr. Anna Weber"
            if toks[i].text in TITLES and i + 1 < n and self.gap(i + 1) in (" ", ". ", " . "):
                first = i + 1
                low = toks[first].low
                if _is_cap(toks[first]) and (low not in STOPWORDS or low in AMBIGUOUS):
                    last = self.surnames(first, 2)
                    if not self.is_brand(i, last):
                        self.add(first, last)
                continue
            if toks[i].low not in CUE_STARTS:
                self.bigram(i)
                continue
            j = self.cue_at(i, STRONG_CUES)
            if j != -1 and j < n:
                self.strong(j)
                continue
            j = self.cue_at(i, LABEL_CUES)
            if j != -1 and j < n and self.gap(j).strip() == ":":
                self.label(j)
                continue
            j = self.cue_at(i, SIGN_OFFS)
            if j != -1 and j < n and self.gap(j).strip(" ,!.-\t\r\n") == "":
                self.sign_off(j)
            j2 = self.cue_at(i, GREETINGS)
            if j2 != -1 and j2 < n and self.gap(j2).strip(" ,") == "":
                self.greeting(j2)
            j3 = self.cue_at(i, WEAK_CUES)
            if j3 != -1 and j3 < n and self.gap(j3) == " ":
                cue = tuple(t.low for t in toks[i:j3])
                self.weak(j3, introduction=cue in INTRODUCTIONS)
            self.bigram(i)
        self.last_line()
        return self.spans

    def strong(self, j: int) -> None:
        """After "my name is": any capitalised word, or a lowercase known name."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if (low in STOPWORDS and low not in AMBIGUOUS) or low in GOODS:
            return
        if tok.text[0].isupper():
            self.add(j, self.surnames(j, 3) if not tok.text.isupper() else self.caps_run(j))
        elif low in self.known or low in AMBIGUOUS:
            self.add(j, self.lower_surname(j))

    def label(self, j: int) -> None:
        """ "Name: Anna Weber"; a single unknown word ("Name: Standard") is not taken."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if not tok.text[0].isupper() or low in STOPWORDS or low in GOODS:
            return
        last = self.surnames(j, 3) if not tok.text.isupper() else self.caps_run(j)
        if last > j or low in self.known or low in AMBIGUOUS:
            self.add(j, last)

    def caps_run(self, j: int) -> int:
        last = j
        while (
            last + 1 < len(self.toks)
            and last - j < 2
            and self.toks[last + 1].text.isupper()
            and self.gap(last + 1) == " "
            and self.toks[last + 1].low not in STOPWORDS
        ):
            last += 1
        return last

    def lower_surname(self, j: int) -> int:
        nxt = j + 1
        if nxt >= len(self.toks) or self.gap(nxt) != " ":
            return j
        tok = self.toks[nxt]
        low = tok.low
        if not tok.text.islower() or len(low) < 2 or low in STOPWORDS or low in GOODS:
            return j
        if low in UNITS:
            return j
        return nxt

    def weak(self, j: int, introduction: bool) -> None:
        """After "for", "to", "with": a known, unambiguous first name.

        After an introduction ("I'm", "this is") also a capitalised word that is also a name
        ("I'm Will"), or a lowercase common first name ("im tom").
        """
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if low in NOT_PERSON or (low in STOPWORDS and low not in AMBIGUOUS):
            return
        if low in AMBIGUOUS and not (introduction and _is_cap(tok)):
            return  # "I'm Will" is a name, "for Will" or "to Mark" may not be
        if _is_cap(tok) and (low in self.known or low in AMBIGUOUS):
            last = self.surnames(j)
            if not self.followed_by_goods(last) and not self.is_brand(j, last):
                self.add(j, last)
        elif introduction and tok.text.islower() and low in self.common:
            self.add(j, self.lower_surname(j))

    def greeting(self, j: int) -> None:
        """ "Hi Anna", and "Hi Will," where the comma says it is a name."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if not _is_cap(tok) or low in NOT_PERSON or not (low in self.known or low in AMBIGUOUS):
            return
        last = self.surnames(j)
        after = self.text[self.toks[last].end : self.toks[last].end + 1]
        if low in AMBIGUOUS and not (after in (",", "!", "\n", "") or self.ends_line(last)):
            return
        if not self.followed_by_goods(last):
            self.add(j, last)

    def sign_off(self, j: int) -> None:
        """ "Thanks Anna for sorting it"; "Thanks, Will" only where it ends the line."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if not _is_cap(tok) or low in NOT_PERSON or not (low in self.known or low in AMBIGUOUS):
            return
        last = self.surnames(j)
        if low not in AMBIGUOUS or self.ends_line(last):
            self.add(j, last)

    def bigram(self, i: int) -> None:
        """A common first name followed by a capitalised surname: "Maria Schmidt"."""
        toks = self.toks
        tok = toks[i]
        if i + 1 >= len(toks) or not _is_cap(tok) or tok.low not in self.common:
            return
        if i > 0 and toks[i - 1].low in DETERMINERS and self.gap(i).strip() == "":
            return
        last = self.surnames(i)
        if last == i or self.followed_by_goods(last) or self.is_brand(i, last):
            return
        self.add(i, last)

    def last_line(self) -> None:
        """A lone first name on the last line signs the message: "...\\nAnna".

        A message that is nothing but a name ("Anna Schmidt", "tom") answers "what's your
        name?" and is taken in either case.
        """
        stripped = self.text.rstrip()
        line_start = stripped.rfind("\n") + 1
        line = [t for t in range(len(self.toks)) if self.toks[t].start >= line_start]
        if not 1 <= len(line) <= 3:
            return
        first, last = line[0], line[-1]
        prefix = self.text[line_start : self.toks[first].start].strip(" -–—~*")
        if prefix or self.toks[first].low not in self.common or not self.ends_line(last):
            return
        words = [self.toks[t] for t in line]
        if any(t.low in STOPWORDS or t.low in GOODS or t.low in UNITS for t in words):
            return
        whole_message = line_start == 0
        if all(_is_cap(t) for t in words) or (
            whole_message and all(t.text.islower() for t in words)
        ):
            self.add(first, last)


_LOWERCASE_NAME_CUE_RE = re.compile(r"\b(?:i['’]?m|i am|this is|it['’]s|name)\b", re.IGNORECASE)


def find_names(text: str) -> list[Span]:
    """Personal names in `text`: first name, surname or both."""
    # Lowercase names are taken only after a cue or as the whole message; a cheap exit for
    # the usual lowercase chat line.
    lowercase_only = not any(ch.isupper() for ch in text)
    if lowercase_only and len(text.split()) > 3 and not _LOWERCASE_NAME_CUE_RE.search(text):
        return []
    return _NameFinder(text).run()
