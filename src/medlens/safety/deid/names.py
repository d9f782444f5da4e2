"""Person names in clinical text: patients, relatives and clinicians.

Evidence, strongest first:

1. **Context**: a title ("Dr.", "Mrs"), a label ("Patient:", "Attending |", "cc:"), a phrase ("seen by", "d/w"),
   a relative ("his wife, Mary"), or a credential after the name ("Hope Brown, PA-C"). The words next to the cue are
   a name if they look like one (capitalised; on ALL-CAPS lines, in the name lexicons).
2. **Lexicons** (U.S. Census 1990 first and last names): a first name followed by a surname ("John Smith",
   "J. Smith"), "Smith, John", or a single unambiguous first name or surname in running text. Names that are also
   common English words (SCOWL levels 10-20: "Hope", "Will", "Brown", "May"), eponyms, drugs and instruments
   ("Foley", "Bovie") count only in pairs or with context. On ALL-CAPS lines case says nothing, so the bar is higher.
3. **Propagation**: once a word is found as part of a name with good evidence, its other occurrences in the same
   text are names too ("Patient: Hope Brown ... Hope reports ...").

A capitalised word directly followed by an eponym head ("Parkinson disease", "Bell's palsy") is never a name unless
a title or credential says so.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from medlens.safety.deid.cues import CueHit, find_cues, lower_same_length
from medlens.safety.deid.lexicon import Lexicons, lexicons

__all__ = ["NameHit", "find_names"]

_WORD_RE = re.compile(r"[A-Za-z](?:[A-Za-z]|['’\-](?=[A-Za-z]))*")
_POSSESSIVE_RE = re.compile(r"['’]s$", re.IGNORECASE)
_LOWER_RE = re.compile(r"[a-z]")
_UPPER_RE = re.compile(r"[A-Z]")
_LINE_RE = re.compile(r"[^\n]*")
_NAMEISH = frozenset({"F", "f", "L", "l", "I", "U"})
# After a patient or name label on an ALL-CAPS line, "SURNAME, FIRST [M]" up to the end of the line is a name even
# when neither word is in the name lexicons (on ALL-CAPS lines unknown words are otherwise read as plain words).
_CAPS_LABELLED_NAME = re.compile(r"([A-Z][A-Z'\-]+(?: [A-Z][A-Z'\-]+)?, [A-Z][A-Z'\-]+(?: [A-Z]\.?)?)[ \t]*(?=\r?\n|$)")
_CAPS_NAME_LABELS = frozenset({"patient", "patient name", "patient's name", "pt", "pt name", "name", "full name"})
# A bare "Name:" label is about a person at the start of a line or after these words ("Patient Name:").
_NAME_LABEL_BEFORE = re.compile(
    r"(?:^|\n)[ \t*•\-]*$|(?<![A-Za-z])(?:patient|pt|full|legal|first|last|middle|maiden|preferred|contact|"
    r"guardian|spouse|physician|provider|doctor|nurse|parent|mother|father|['’]s)[ \t]+$",
    re.IGNORECASE,
)
_MODALS = frozenset({"WILL", "MAY", "CAN", "MIGHT", "MUST", "SHALL", "WOULD", "SHOULD", "COULD"})
_SENTENCE_BREAK = frozenset('.!?:;|\n\t•*>"(=')


@dataclass(frozen=True, slots=True)
class NameHit:
    """A name span with the rule that found it."""

    start: int
    end: int
    rule: str
    confidence: float


@dataclass(slots=True)
class _Tok:
    start: int
    end: int
    word: str
    key: str  # upper case, possessive stripped
    caps_line: bool
    dotted: bool = False  # followed directly by "."
    kind: str = ""  # F f L l I U X W (see _kind)


_TAILS = {
    "title": re.compile(r"(?P<dot>\.)?(?![A-Za-z])[ \t]*"),
    "label": re.compile(r"[ \t]*(?:[:|#=]|\t| {2,})[ \t:|#=]*(?:[-–][ \t]*)?"),
    "phrase": re.compile(r"[ \t]*[:,]?[ \t]+"),
    "relation": re.compile(r"(?:['’]s)?(?:[ \t]*,[ \t]*|[ \t]*\([ \t]*|[ \t]+)"),
}
_ZIP_AFTER = re.compile(r"[ \t]+[0-9OolI]{5}(?![\w])|[ \t]+[0-9OolI]{5}-\d{4}")
_CREDENTIAL_BEFORE = {"strong": re.compile(r"[ \t]*,?[ \t]*$"), "weak": re.compile(r"[ \t]*,[ \t]*$")}


@functools.cache
def _credentials() -> tuple[str, ...]:
    cues = lexicons().cues.names
    return tuple(sorted({c.lower() for c in cues.credentials_strong + cues.credentials_weak}, key=len, reverse=True))


@functools.cache
def _word_sets() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    lex = lexicons()
    cues = lex.cues
    stop = {w.upper() for w in cues.names.stopwords}
    stop |= {w.upper() for w in cues.names.titles}
    stop |= {w.upper().rstrip(".") for w in cues.names.credentials_strong + cues.names.credentials_weak}
    for phrase in cues.facilities.suffixes + cues.addresses.street_suffixes + cues.addresses.unit_words:
        if " " not in phrase and len(phrase) > 3:
            stop.add(phrase.upper())
    stop |= {w.upper() for w in cues.names.relations if w not in {"patient", "pt"}}
    stop |= {"HOSPITAL", "CLINIC", "CENTER", "MEDICAL", "DEPARTMENT", "UNIVERSITY", "COUNTY", "STREET", "AVENUE"}
    heads = frozenset(w.upper() for w in cues.names.eponym_heads)
    particles = frozenset(w.lower() for w in cues.names.particles)
    return frozenset(stop), heads, particles


def _kind(tok: _Tok, lex: Lexicons, stop: frozenset[str]) -> str:
    """Classify a word: F/f, L/l, I, U, X or W.

    F/f: first name (unambiguous/ambiguous), L/l: surname, I: initial, U: unknown capitalised non-word,
    X: clinical word or eponym, W: anything else (ends a name).
    """
    key = tok.key
    word = tok.word
    if len(key) == 1:
        return "I" if word.isupper() and tok.dotted else "W"
    if key in stop or (tok.caps_line and len(key) <= 2):
        return "W"
    if not tok.caps_line and not word[0].isupper():
        return "W"
    if not tok.caps_line and word.isupper() and len(word) <= 3:
        return "W"  # abbreviations in running text (ED, AL, MA)
    level = lex.word_level.get(key)
    first = key in lex.first_sex
    rank = lex.last_rank.get(key)
    # A name that is also one of the most common words (SCOWL 10-20) is ambiguous; on ALL-CAPS lines also a
    # rarer name that is a fairly common word (level 35-50), since case no longer tells them apart.
    ambiguous = level is not None and (
        level <= 20
        or (tok.caps_line and level <= 50 and lex.first_freq.get(key, 0.0) < 0.05 and (rank is None or rank > 5000))
    )
    if key in lex.not_names:
        return "f" if first and lex.first_freq.get(key, 0.0) >= 0.01 else "X"
    if first and not ambiguous:
        return "F"
    if rank is not None and not ambiguous:
        return "L"
    if first:
        return "f"
    if rank is not None:
        return "l"
    if key in lex.english or tok.caps_line or ("-" in key and all(p in lex.english for p in key.split("-"))):
        return "W"
    return "U" if len(key) >= 3 else "W"


_POINTS = {"F": 2.0, "f": 1.0, "L": 2.0, "l": 1.0, "I": 0.5, "U": 1.0, "X": 0.0}


class _Finder:
    """State of one search over one text."""

    def __init__(self, text: str, cues: dict[str, list[CueHit]]) -> None:
        self.text = text
        self.cues = cues
        self.lex = lexicons()
        self.stop, self.heads, self.particles = _word_sets()
        self.toks = self._tokens()
        self.starts = [t.start for t in self.toks]
        self.hits: list[NameHit] = []

    def _tokens(self) -> list[_Tok]:
        text = self.text
        toks: list[_Tok] = []
        for line in _LINE_RE.finditer(text):
            s, e = line.span()
            if s == e:
                continue
            uppers = len(_UPPER_RE.findall(text, s, e))
            lowers = len(_LOWER_RE.findall(text, s, e))
            caps = uppers >= 6 and lowers <= 0.1 * (uppers + lowers)
            for m in _WORD_RE.finditer(text, s, e):
                word = m.group()
                key = _POSSESSIVE_RE.sub("", word).upper() if "'" in word or "’" in word else word.upper()
                toks.append(_Tok(m.start(), m.end(), word, key, caps, text[m.end() : m.end() + 1] == "."))
        stop = _word_sets()[0]
        for t in toks:
            t.kind = _kind(t, self.lex, stop)
        return toks

    # --- helpers ---------------------------------------------------------------------------------------------

    def _index_at(self, pos: int) -> int | None:
        """Index of the token starting at ``pos`` (after spaces), if any."""
        i = bisect.bisect_left(self.starts, pos)
        if i < len(self.toks) and self.text[pos : self.toks[i].start].strip() == "":
            return i
        return None

    def _gap(self, i: int) -> str:
        """Text between token i and token i+1."""
        return self.text[self.toks[i].end : self.toks[i + 1].start]

    def _joined(self, i: int) -> bool:
        """Whether token i+1 continues a name after token i ("John Smith", "J. Smith", "Mary-Ann")."""
        if i + 1 >= len(self.toks):
            return False
        gap = self._gap(i)
        if gap in {" ", "  ", "\t"}:
            return True
        return gap in {". ", "."} and self.toks[i].kind == "I"

    def _two_part_name(self, i: int) -> bool:
        """Token i and the next look like a full name of unknown words: "Zyxwvut Quillfeather", "QUILLFEATHER, ZYX".

        Both capitalised name-like words (not dictionary words), joined by a space, or by a comma on an ALL-CAPS line
        (the "SURNAME, FIRST" form of headers).
        """
        if i + 1 >= len(self.toks):
            return False
        t, nxt = self.toks[i], self.toks[i + 1]
        if nxt.kind not in {"U", "F", "L", "f", "l"} or not nxt.word[0].isupper():
            return False
        if self._gap(i) in {", ", ","}:
            return nxt.caps_line == t.caps_line
        return not t.caps_line and self._joined(i) and not nxt.caps_line

    def _sentence_initial(self, i: int) -> bool:
        pos = self.toks[i].start - 1
        text = self.text
        while pos >= 0 and text[pos] in " \t":
            pos -= 1
        if pos < 0 or text[pos] in _SENTENCE_BREAK:
            return True
        return text[pos].isdigit() and pos > 0 and text[pos + 1 : pos + 2] == "."

    def _ends_clause(self, i: int) -> bool:
        """Whether token i is followed by punctuation or the end of the line."""
        rest = self.text[self.toks[i].end : self.toks[i].end + 3].lstrip(" \t")
        return not rest or rest[0] in ".,;:)\n"

    def _eponym_follows(self, i: int) -> bool:
        """Whether token i is followed by an eponym head ("Foley catheter", "Parkinson's disease")."""
        if self.toks[i].word.endswith(("'s", "’s", "'S", "’S")) and i + 1 < len(self.toks):
            return self.toks[i + 1].key in self.heads and self._gap(i).strip() == ""
        if i + 1 < len(self.toks) and self._gap(i) in {" ", "-", "'s ", "’s ", "' "}:
            return self.toks[i + 1].key in self.heads
        return False

    def _name_like(self, t: _Tok, *, first: bool, cued: bool) -> bool:
        """Whether a token can be part of a name next to a cue."""
        if t.kind == "W":
            return False
        if t.caps_line:
            return t.kind in {"F", "f", "L", "l", "I", "X"} or (first and t.kind == "U")
        return t.kind in {"F", "f", "L", "l", "I", "U", "X"} and t.word[0].isupper()

    def _add(self, first: int, last: int, rule: str, confidence: float) -> None:
        self.hits.append(NameHit(self.toks[first].start, self.toks[last].end, rule, confidence))

    # --- context ---------------------------------------------------------------------------------------------

    def _take_forward(
        self, i: int, *, max_tokens: int = 4, allow_comma: bool = True, label: bool = False
    ) -> int | None:
        """Last token index of a name starting at token i, or None if token i does not start one.

        ``label``: the name follows a name label ("Patient:", "Patient Name:"), where "SURNAME, FIRST" of unknown words
        is a name too.
        """
        toks = self.toks
        if not self._name_like(toks[i], first=True, cued=True):
            return None
        last = i
        j = i
        count = 1
        while count < max_tokens and j + 1 < len(toks):
            nxt = toks[j + 1]
            if nxt.key in _MODALS or nxt.key in self.heads:
                break
            if self._joined(j) and self._name_like(nxt, first=False, cued=True):
                j += 1
            elif (
                self._gap(j) == " "
                and nxt.word.lower() in self.particles
                and j + 2 < len(toks)
                and self._joined(j + 1)
                and toks[j + 2].word[0].isupper()
            ):
                j += 2
            elif (
                allow_comma
                and j == i
                and self._gap(j) in {", ", ","}
                and (nxt.kind in {"F", "f", "I"} or (label and nxt.kind == "U" and self._two_part_name(j)))
                and (nxt.word[0].isupper())
                and not self._credential_at(toks[j].end)
            ):
                j += 1
                allow_comma = False
            elif not allow_comma and len(nxt.key) == 1 and nxt.word.isupper() and self._gap(j) == " ":
                j += 1  # "Black, Brian L": a middle initial without its dot
            else:
                break
            last = j
            count += 1
        return last

    def _credential_at(self, pos: int) -> bool:
        """Whether a credential follows ``pos`` (", MD")."""
        rest = lower_same_length(self.text[pos : pos + 12])
        return any(rest.lstrip(" \t,").startswith(c) for c in _credentials()) and "," in rest[:2]

    def _context(self) -> None:
        text = self.text
        cues = self.cues
        for _, end, _ in cues.get("title", ()):
            m = _TAILS["title"].match(text, end)
            if m is None or (i := self._index_at(m.end())) is None:
                continue
            t = self.toks[i]
            if t.caps_line and m.group("dot") is None and t.kind not in {"F", "f", "L", "l", "X"}:
                continue
            if not t.caps_line and not t.word[0].isupper():
                continue
            last = self._take_forward(i)
            if last is None and t.kind == "W" and t.word[0].isupper() and t.key not in self.stop:
                last = i  # "Dr. Wells" where the surname is also a word; "Dr. X"
            if last is not None:
                self._add(i, last, "title", 0.95)
        for rule, conf in (("label", 0.9), ("phrase", 0.85), ("relation", 0.85)):
            for start, end, cue in cues.get(rule, ()):
                m = _TAILS[rule].match(text, end)
                if m is None or (i := self._index_at(m.end())) is None:
                    continue
                if rule == "phrase" and start > 0 and text[start - 1] == "/":
                    continue
                t = self.toks[i]
                if rule == "label" and cue.endswith("name") and not _NAME_LABEL_BEFORE.search(text, 0, start):
                    continue  # "Sample Name:", "Drug Name:" are not about people
                if rule == "label" and t.caps_line and cue in _CAPS_NAME_LABELS:
                    caps = _CAPS_LABELLED_NAME.match(text, m.end())
                    if caps is not None:
                        self.hits.append(NameHit(caps.start(1), caps.end(1), rule, conf))
                        continue
                mixed_word = not t.caps_line and t.kind in {"f", "l"} and rule != "label" and t.word[0].isupper()
                if t.kind in {"f", "l", "X"} and not self._ends_clause(i) and not mixed_word:
                    # "Anesthesia: General endotracheal", "HIS WIFE WILL ...": a word far more often than a name
                    partners = {"F", "L"} if t.caps_line and rule != "label" else _NAMEISH
                    if not (i + 1 < len(self.toks) and self._joined(i) and self.toks[i + 1].kind in partners):
                        continue
                if t.caps_line and rule == "relation" and t.kind == "l":
                    continue  # "PATIENT CHECK.", "SON SAID."
                if t.kind == "U" and (t.caps_line or cue in {"patient", "pt"}) and not self._two_part_name(i):
                    continue  # "Patient: Afebrile" - but "Patient: Zyxwvut Quillfeather" is a name
                if cue in {"patient", "pt"} and rule == "relation" and t.kind not in {"F", "L"}:
                    continue
                if self._eponym_follows(i):
                    continue
                last = self._take_forward(i, label=rule == "label")
                if last is not None:
                    self._add(i, last, rule, conf)
        for strength in ("strong", "weak"):
            for start, end, _ in cues.get(f"credential_{strength}", ()):
                if _ZIP_AFTER.match(text, end):
                    continue  # "Erie, PA 16501": a state before a ZIP code, not a credential
                before = _CREDENTIAL_BEFORE[strength].search(text, max(0, start - 6), start)
                if before is None or (
                    before.start() == start and strength == "strong" and start > 0 and not text[start - 1].isspace()
                ):
                    continue
                i = bisect.bisect_left(self.starts, before.start()) - 1
                if i < 0 or text[self.toks[i].end : start].strip(" \t,"):
                    continue
                self._credential(i)

    def _credential(self, i: int) -> None:
        """A name ending at token i, before a credential ("Hope Brown, MD"): walk back over name-like words."""
        if not self._name_like(self.toks[i], first=False, cued=True):
            return
        last = first = i
        while first - 1 >= 0 and last - first < 3:
            prev = self.toks[first - 1]
            if (self._joined(first - 1) and self._name_like(prev, first=False, cued=True)) or (
                self._gap(first - 1) in {", ", ","}
                and first == last
                and prev.kind in {"L", "l", "U", "F", "f"}
                and self._name_like(prev, first=False, cued=True)
            ):
                first -= 1
            else:
                break
        self._add(first, last, "credential", 0.95)

    # --- lexicon ---------------------------------------------------------------------------------------------

    def _lexicon(self) -> None:
        toks = self.toks
        n = len(toks)
        i = 0
        while i < n:
            t = toks[i]
            if t.kind == "W" or (not t.caps_line and not t.word[0].isupper()):
                i += 1
                continue
            j = i
            while (
                j + 1 < n
                and j - i < 3
                and self._joined(j)
                and toks[j + 1].kind != "W"
                and toks[j + 1].key not in self.heads
            ):
                j += 1
            self._judge(i, j)
            i = j + 1

    def _as_surname(self, t: _Tok) -> str:
        """Kind of a word after a first name: a word that is both a first name and a surname reads as a surname."""
        if t.kind in {"F", "f"} and t.key in self.lex.last_rank:
            return "L" if t.kind == "F" else "l"
        return t.kind

    def _judge(self, i: int, j: int) -> None:
        toks = self.toks
        kinds = [toks[i].kind] + [self._as_surname(toks[k]) for k in range(i + 1, j + 1)]
        caps = toks[i].caps_line
        # trim trailing eponyms and clinical words unless a clear first name leads
        while len(kinds) > 1 and kinds[-1] == "X" and "F" not in kinds:
            kinds.pop()
            j -= 1
        # "Smith, John": a surname, a comma, then a first name
        surname = self._as_surname(toks[j])
        if j + 1 < len(toks) and self._gap(j) in {", ", ","} and surname in {"L", "l"}:
            nxt = toks[j + 1]
            if nxt.kind in {"F", "f"} and (caps == nxt.caps_line) and (nxt.caps_line or nxt.word[0].isupper()):
                strong = surname == "L" or nxt.kind == "F"
                if strong and not self._eponym_follows(j + 1):
                    end = j + 1
                    if (
                        end + 1 < len(toks)
                        and self._joined(end)
                        and len(toks[end + 1].key) == 1
                        and toks[end + 1].word.isupper()
                    ):
                        end += 1  # "Black, Brian L"
                    self._add(j, end, "lexicon.last_first", 0.85)
        if self._eponym_follows(j):
            return
        if len(kinds) >= 2:
            head = kinds[0]
            rest = kinds[1:]
            mixed_upper = not caps and any(toks[k].word.isupper() and len(toks[k].word) > 1 for k in range(i, j + 1))
            if mixed_upper and not ("F" in kinds and "L" in kinds and "f" not in kinds and "l" not in kinds):
                return
            if head in {"F", "f", "I"} and any(k in {"L", "l", "U", "X"} for k in rest):
                has_strong = "F" in kinds or "L" in kinds
                rest_ok = any(k in {"L", "l"} for k in rest) if "U" in rest and head != "F" else True
                if "X" in rest and head != "F" and not any(k in {"L", "l"} for k in rest):
                    rest_ok = False
                if caps:
                    ok = has_strong and "U" not in rest and rest_ok and not (head == "I" and "L" not in rest)
                else:
                    ok = rest_ok and (has_strong or (head in {"f", "I"} and any(k in {"l"} for k in rest)))
                if ok:
                    self._add(i, j, "lexicon.pair", 0.9 if has_strong else 0.75)
                    return
            if head in {"L"} and rest[0] == "F" and not caps:
                self._add(i, i + 1, "lexicon.last_first", 0.7)
                return
        # single words
        for k in range(i, j + 1):
            t = toks[k]
            if self._eponym_follows(k) or (not caps and t.word.isupper()):
                continue  # an upper-case word in running text is an abbreviation far more often (LIMA, PEEK)
            if t.kind == "F" and len(t.key) >= 3:
                if caps:
                    if (
                        len(t.key) >= 4
                        and self.lex.first_freq.get(t.key, 0.0) >= 0.005
                        and t.key not in self.lex.english
                    ):
                        self._add(k, k, "lexicon.first", 0.55)
                elif self._sentence_initial(k):
                    self._add(k, k, "lexicon.first", 0.6)
                else:
                    self._add(k, k, "lexicon.first", 0.75)
            elif t.kind == "L" and not caps and len(t.key) >= 3 and not self._sentence_initial(k):
                rank = self.lex.last_rank.get(t.key, 10**9)
                if rank <= 30000:
                    self._add(k, k, "lexicon.last", 0.6)

    # --- propagation -----------------------------------------------------------------------------------------

    def _propagate(self) -> None:
        known: set[str] = set()
        for h in self.hits:
            if h.confidence < 0.75:
                continue
            strong_context = h.rule in {"title", "credential"}
            i = bisect.bisect_left(self.starts, h.start)
            while i < len(self.toks) and self.toks[i].end <= h.end:
                t = self.toks[i]
                if (
                    len(t.key) >= 2
                    and t.key not in self.stop
                    and (t.kind in {"F", "f", "L", "l"} or (t.kind == "U" and strong_context))
                    and not (t.word.isupper() and not t.caps_line and len(t.word) <= 4)
                ):
                    known.add(t.key)
                i += 1
        if not known:
            return
        for k, t in enumerate(self.toks):
            if t.key not in known or self._eponym_follows(k):
                continue
            if t.caps_line:
                if t.kind in {"f", "l", "X"} and not (
                    (k + 1 < len(self.toks) and self._joined(k) and self.toks[k + 1].key in known)
                    or (k > 0 and self._joined(k - 1) and self.toks[k - 1].key in known)
                ):
                    continue
            elif (
                not t.word[0].isupper()
                or (t.word.isupper() and len(t.word) <= 3)
                or (t.kind in {"f", "l", "X"} and self._modal_use(k))
            ):
                continue
            self.hits.append(NameHit(t.start, t.end, "propagated", 0.8))

    def _modal_use(self, k: int) -> bool:
        """Whether an ambiguous word is used as a word here: a modal before a verb ("Will follow up", "May need")."""
        if self.toks[k].key not in _MODALS or k + 1 >= len(self.toks):
            return False
        nxt = self.toks[k + 1]
        return self._gap(k) == " " and nxt.word.islower()

    def run(self) -> list[NameHit]:
        if not self.toks:
            return []
        self._context()
        self._lexicon()
        self._propagate()
        return self.hits


def find_names(text: str, cues: dict[str, list[CueHit]] | None = None) -> list[NameHit]:
    """All person-name spans in ``text`` (possibly overlapping; the caller merges them).

    Args:
        text: the text.
        cues: the text's cues from :func:`~medlens.safety.deid.cues.find_cues`, if already found.

    Returns:
        Hits with the rule that found them ("title", "label", "phrase", "relation", "credential",
        "lexicon.pair", "lexicon.last_first", "lexicon.first", "lexicon.last", "propagated") and a confidence.
    """
    return _Finder(text, find_cues(text) if cues is None else cues).run()
