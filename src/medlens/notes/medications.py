"""Medications: ``medications.tsv`` names -> ingredient (RxNorm RXCUI where certain), with the sig read after the name.

The sig is read in a window that starts after the drug name and ends at the first of: the next drug name, the end
of the line, the end of the section, a sentence end (``.``, ``;``, ``!``, ``?`` followed by a space and a capital
or a line end, not after a one-letter abbreviation such as ``p.o.``/``b.i.d.``), or 120 characters. Inside it, each
attribute is the first non-overlapping match of its pattern:

* dose: a quantity from :func:`medlens.text.measurements.match_quantity` starting within 30 characters ("500 mg",
  "10 units", "49-51 mg") or a count with a dose form ("1 tab", "2 puffs", "one tablet"); durations ("7 days")
  are not doses. Dose forms get UCUM curly-brace annotations (``{tbl}``, ``{cap}``, ``{puff}``...).
* route: phrases of ``sig.yaml`` (PO, IV, IM, SC, SL, PR, topical, inhaled, nebulized, transdermal...).
* frequency: phrases of ``sig.yaml`` (QD, BID, TID, QID, QHS, QAM, QPM, QOD, QWK, QMO...) and the patterns
  ``q4h``/``every 4 hours`` -> ``Q4H``, ``q6-8h``/``every 6 to 8 hours`` -> ``Q6-8H``, ``q5min`` -> ``Q5MIN``,
  ``every 3 days``/``q3d`` -> ``Q3D``, ``every 2 weeks`` -> ``Q2WK``, ``hourly`` -> ``Q1H``.
* duration: ``for 7 days``, ``x 10 days``, ``x2 weeks``, ``for a month`` -> ISO 8601 ``P7D``, ``P10D``, ``P2W``,
  ``P1M``.
* PRN: ``PRN``, ``p.r.n.``, ``as needed`` with an optional reason of up to four words ("as needed for pain",
  "PRN chest pain"); the value is the reason in lower case, or ``"true"`` when none is stated (FHIR
  ``Dosage.asNeeded[x]``: a reason maps to ``asNeededCodeableConcept.text``, none to ``asNeededBoolean``).

Discontinuation and non-use, read in the same sentence (added to the ContextEngine's assertion with their own cue):
"stopped/discontinued/d/c'd/quit/no longer taking/off X", "X was stopped/discontinued/held" -> ``historical``;
"not taking/never took X" -> ``negated``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from medlens.core.types import AssertionStatus, Code, Cue, Evidence
from medlens.notes.lexicon_models import (
    MedicationEntry,
    load_abbreviation_rules,
    load_medication_lexicon,
    load_sig_lexicon,
)
from medlens.notes.schema import Attribute, MedicationDetail, Quantity
from medlens.notes.terminology import ConceptMention, ContextGate, PhraseMatcher, phrase_variants
from medlens.text.analysis import TextAnalysis
from medlens.text.measurements import match_quantity, phrase_pattern

__all__ = ["RXNORM_SYSTEM", "MedicationExtractor", "MedicationSpan"]

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_SOURCE = "RxNorm (NLM) via medlens notes lexicon medications.tsv"
_P = "medlens.rule.notes.medication"

MatchValue = tuple[str, int]
MedicationSpan = tuple[int, int, MatchValue]

_WINDOW = 120
_DOSE_REACH = 30
_CONCENTRATION = ("/L", "/dL")
_DOSE_GAP_STOP = re.compile(r"\b(?:and|or|with|plus|was|were|is|are|then|but)\b", re.IGNORECASE)
_TIME_UCUM = frozenset({"s", "min", "h", "d", "wk", "mo", "a"})
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "twenty": 20, "thirty": 30, "half": 0.5,
    "one-half": 0.5,
}  # fmt: skip
_NUMBER_WORD_RE = "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True))

# Dose forms counted in a dose ("1 tab", "2 puffs"): UCUM curly-brace annotations (UCUM 2.1 §4.5: an annotation
# alone is the unity with a label).
_FORMS = {
    "tab": "{tbl}", "tabs": "{tbl}", "tablet": "{tbl}", "tablets": "{tbl}", "cap": "{cap}", "caps": "{cap}",
    "capsule": "{cap}", "capsules": "{cap}", "puff": "{puff}", "puffs": "{puff}", "drop": "[drp]", "drops": "[drp]",
    "gtt": "[drp]", "gtts": "[drp]", "spray": "{spray}", "sprays": "{spray}", "patch": "{patch}",
    "patches": "{patch}", "pill": "{pill}", "pills": "{pill}", "inhalation": "{inhalation}",
    "inhalations": "{inhalation}", "suppository": "{suppository}", "suppositories": "{suppository}",
    "application": "{application}", "applications": "{application}", "lozenge": "{lozenge}",
    "lozenges": "{lozenge}", "packet": "{packet}", "packets": "{packet}", "vial": "{vial}", "vials": "{vial}",
    "ampule": "{ampule}", "ampules": "{ampule}", "teaspoon": "[tsp_us]", "teaspoons": "[tsp_us]",
    "tsp": "[tsp_us]", "tablespoon": "[tbs_us]", "tablespoons": "[tbs_us]", "tbsp": "[tbs_us]",
}  # fmt: skip
_FORM_ALT = "|".join(sorted(_FORMS, key=len, reverse=True))
_FORM_AFTER = re.compile(rf"[ \t]{{0,2}}(?P<form>{_FORM_ALT})\b", re.IGNORECASE)
_WORD_DOSE = re.compile(rf"(?<![\w.])(?P<num>{_NUMBER_WORD_RE})[ \t]+(?P<form>{_FORM_ALT})\b", re.IGNORECASE)
_END = r"(?:(?<=\.)|(?!\w))"
_DIGIT = re.compile(r"(?<![\w.#/])(?:\d|\.\d)")

_BOUNDARY = re.compile(r"(?<!\b[A-Za-z])[.!?](?=\s+[A-Z(\d]|[ \t]*(?:\n|$))|;")

_PARAMETRIC_FREQ = (
    r"(?P<qhr>q\.?\s?(?P<qa>\d{1,2})\s?(?:-|to)\s?(?P<qb>\d{1,2})\s?(?:h|hr|hrs|hours?)\b\.?)"
    r"|(?P<ehr>every\s+(?P<ea>\d{1,2})\s*(?:-|to)\s*(?P<eb>\d{1,2})\s+hours?)"
    r"|(?P<qh>q\.?\s?(?P<qn>\d{1,2})\s?(?:h|hr|hrs|hours?)\b\.?)"
    rf"|(?P<eh>every\s+(?P<en>\d{{1,2}}|{_NUMBER_WORD_RE})\s+hours?)"
    r"|(?P<hourly>hourly|every\s+hour|q\.?\s?h\b\.?|q\.?\s?1\s?h\b\.?)"
    r"|(?P<qmin>q\.?\s?(?P<mn>\d{1,2})\s?min(?:ute)?s?\b\.?|every\s+(?P<mn2>\d{1,2})\s+min(?:ute)?s?)"
    rf"|(?P<qd>q\.?\s?(?P<dn>[2-9])\s?d(?:ays?)?\b\.?|every\s+(?P<dn2>\d{{1,2}}|{_NUMBER_WORD_RE})\s+days)"
    rf"|(?P<qw>every\s+(?P<wn>\d|{_NUMBER_WORD_RE})\s+weeks)"
)
_DURATION = re.compile(
    r"(?<![\w])(?:for|x|×|times|duration\s+of)\s*"
    r"(?:the\s+next\s+|a\s+total\s+of\s+|another\s+|an?\s+(?:additional|further)\s+)?"
    rf"(?P<n>\d{{1,3}}|{_NUMBER_WORD_RE})\s*(?:more\s+|additional\s+|further\s+)?"
    r"(?P<u>days?|d|weeks?|wks?|months?|mos?)\b",
    re.IGNORECASE,
)
_PRN = re.compile(
    r"(?<![\w.])(?:p\.?\s?r\.?\s?n\.?|as[\s-]+needed|when\s+needed|if\s+needed|as\s+required)(?!\w)", re.IGNORECASE
)
# A reason follows "for/with/if/to treat" (after an optional comma or colon) or, without those words, directly after
# a space ("PRN chest pain"); never after a bare comma ("Valium prn, Nubain prn").
_REASON_LEAD = re.compile(
    r"[ \t]*(?:[,:][ \t]*)?(?:for|with|if|to\s+treat)[ \t]+(?:the[ \t]+)?|[ \t]+(?=[A-Za-z])", re.IGNORECASE
)
_REASON_WORD = re.compile(r"[A-Za-z][A-Za-z'/-]*")
_REASON_STOP = frozenset(
    {
        "and", "or", "up", "to", "not", "max", "maximum", "every", "q", "x", "times", "may", "repeat", "then",
        "until", "dose", "doses", "daily", "twice", "once", "po", "iv", "im", "sc", "sl", "pr", "prn", "as",
        "needed", "per", "at", "in", "by", "mg", "mcg", "ml", "units", "tab", "tabs", "tablet", "tablets", "the",
        "a", "an", "of", "hours", "hour", "for", "with", "if", "over", "on",
    }
)  # fmt: skip
_STOPPED_BEFORE = re.compile(
    r"\b(?:stopped|discontinued|discontinue|d/c(?:'?d)?|dc'?d|quit|ceased|no\s+longer\s+(?:taking|takes|on|using)"
    r"|taken\s+off(?:\s+of)?|came\s+off(?:\s+of)?|off(?:\s+of)?)\s+(?:(?:taking|using)\s+)?(?:(?:his|her|their|the)\s+)?$",
    re.IGNORECASE,
)
_STOPPED_AFTER = re.compile(
    r"\s*(?:was|were|has\s+been|have\s+been|had\s+been|is\s+being)?\s*(?:stopped|discontinued|d/c'?d|dc'?d|held|"
    r"ceased)\b",
    re.IGNORECASE,
)
_NOT_TAKING_BEFORE = re.compile(
    r"\b(?:not|never)\s+(?:currently\s+)?(?:taking|takes|took|taken|on|using|used|prescribed)\s+(?:any\s+)?$",
    re.IGNORECASE,
)


def _number(raw: str) -> float:
    word = raw.lower()
    return float(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else float(raw)


def _fmt(n: float) -> str:
    return str(int(n)) if n == int(n) else str(n)


class MedicationExtractor:
    """Registers medication names in a shared matcher and turns matches into medication mentions with their sig."""

    KIND = "medication"
    GATE_KIND = "medication_gate"

    def __init__(self) -> None:
        lexicon = load_medication_lexicon()
        sig = load_sig_lexicon()
        rules = load_abbreviation_rules()
        self.entries: tuple[MedicationEntry, ...] = tuple(lexicon.rows)
        self._codes = [
            Code(system=RXNORM_SYSTEM, code=e.rxcui, display=e.ingredient, source=_SOURCE) if e.rxcui else None
            for e in self.entries
        ]
        by_name = {e.ingredient: i for i, e in enumerate(self.entries)}
        self.gates: list[tuple[ContextGate, int]] = [
            (ContextGate(g), by_name[g.concept]) for g in rules.gated if g.lexicon == "medications"
        ]
        self._route_value = {_key(p): r.value for r in sig.routes for p in r.phrases}
        self._freq_value = {_key(p): f.value for f in sig.frequencies for p in f.phrases}
        # A phrase ending in a period ("q.a.m.") may run straight into list numbering ("q.a.m.4. Skelaxin").
        self._route_re = re.compile(
            r"(?<![\w.])(?:" + phrase_pattern(self._route_value, space=r"[\s-]+") + r")" + _END, re.IGNORECASE
        )
        self._freq_re = re.compile(
            r"(?<![\w.])(?:"
            + _PARAMETRIC_FREQ
            + r"|(?P<fixed>"
            + phrase_pattern(self._freq_value, space=r"[\s-]+")
            + r"))"
            + _END,
            re.IGNORECASE,
        )

    # ------------------------------------------------------------------------------------------ vocabulary
    def register(self, matcher: PhraseMatcher[MatchValue]) -> None:
        """Add every medication name (and gated abbreviation) to ``matcher``."""
        for i, entry in enumerate(self.entries):
            value = (self.KIND, i)
            for name in entry.names:
                matcher.add_all(phrase_variants(name), value)
            for abbr in entry.abbreviations:
                matcher.add_all(phrase_variants(abbr), value, case_sensitive=True)
        for g, (gate, _) in enumerate(self.gates):
            matcher.add(gate.gate.abbr, (self.GATE_KIND, g), case_sensitive=gate.gate.case_sensitive)

    def resolve(self, text: str, start: int, end: int, value: MatchValue, analysis: TextAnalysis) -> int | None:
        """Row index of the medication matched at ``text[start:end]``, or None when a gate rejects it."""
        kind, index = value
        if kind == self.GATE_KIND:
            gate, row = self.gates[index]
            return row if gate.allows(text, start, end, analysis.sentence_at(start)) else None
        return index

    def code(self, row: int) -> Code | None:
        """RxNorm code of row ``row`` (None where the RXCUI is not curated)."""
        return self._codes[row]

    # ------------------------------------------------------------------------------------------ extraction
    def extract(
        self, text: str, record_id: str, spans: Sequence[tuple[int, int, int]], analysis: TextAnalysis
    ) -> tuple[list[ConceptMention], list[tuple[int, int]]]:
        """Medication mentions for resolved ``spans`` ``(start, end, row)`` (sorted), with their sig.

        Returns:
            The mentions, and the spans of PRN reasons (text a problem matcher should not also report).
        """
        mentions: list[ConceptMention] = []
        consumed: list[tuple[int, int]] = []
        for k, (start, end, row) in enumerate(spans):
            entry = self.entries[row]
            next_start = spans[k + 1][0] if k + 1 < len(spans) else len(text)
            stop = self._window_end(text, end, next_start, analysis)
            detail, reason_span = self._sig(text, record_id, end, stop, next_start)
            if reason_span is not None:
                consumed.append(reason_span)
            mentions.append(
                ConceptMention(
                    type="medication",
                    start=start,
                    end=end,
                    text=entry.ingredient,
                    code=self._codes[row],
                    producer=f"{_P}.medications.v1",
                    explanation=f"medications.tsv: {entry.ingredient}"
                    + (f" -> RxNorm {entry.rxcui}" if entry.rxcui else " (no RXCUI curated)"),
                    medication=detail,
                    extra_cues=self._use_cues(text, start, end, analysis),
                )
            )
        return mentions, consumed

    def _window_end(self, text: str, end: int, next_start: int, analysis: TextAnalysis) -> int:
        stop = min(next_start, end + _WINDOW, analysis.section_at(end).end, len(text))
        newline = text.find("\n", end, stop)
        if newline >= 0:
            stop = newline
        boundary = _BOUNDARY.search(text, end, stop)
        return boundary.start() if boundary is not None else stop

    def _sig(
        self, text: str, record_id: str, pos: int, stop: int, next_start: int
    ) -> tuple[MedicationDetail | None, tuple[int, int] | None]:
        if stop <= pos:
            return None, None
        taken: list[tuple[int, int]] = []
        dose = self._dose(text, record_id, pos, stop, next_start, taken)
        # PRN before route: "p.r.n." must not be read as the route "p.r." (per rectum).
        prn, reason_span = self._prn(text, record_id, pos, stop, taken)
        route = self._attr(text, record_id, self._route_re, pos, stop, taken, "route", self._route_value_of)
        frequency = self._attr(text, record_id, self._freq_re, pos, stop, taken, "frequency", self._freq_value_of)
        duration = self._attr(text, record_id, _DURATION, pos, stop, taken, "duration", _duration_value)
        # A lone route word counts only right after the name ("Lasix IV", "albuterol MDI"); further away it is as
        # likely narrative ("changed to oral formulation", "vaginal irritation").
        lone = dose is None and frequency is None and duration is None and prn is None
        if route is not None and lone and route.evidence[0].start - pos > 2:
            route = None
        if dose is None and route is None and frequency is None and duration is None and prn is None:
            return None, None
        detail = MedicationDetail(dose=dose, route=route, frequency=frequency, duration=duration, prn=prn)
        return detail, reason_span

    def _dose(
        self, text: str, record_id: str, pos: int, stop: int, next_start: int, taken: list[tuple[int, int]]
    ) -> Quantity | None:
        reach = min(stop, pos + _DOSE_REACH)
        for m in _DIGIT.finditer(text, pos, reach):
            if _DOSE_GAP_STOP.search(text, pos, m.start()):
                return None  # "Marcaine and 1% lidocaine": the number belongs to something else
            q = match_quantity(text, m.start(), stop)
            if q is None:
                continue
            if q.ucum in _TIME_UCUM or (q.ucum is not None and q.ucum.endswith(_CONCENTRATION)):
                return None  # a duration ("7 days") or a blood level ("0.09 mg/L"), not a dose
            q_end, unit, ucum = q.end, q.unit, q.ucum
            if unit is None:
                form = _FORM_AFTER.match(text, q.end, stop)
                if form is None:
                    return None
                q_end, unit, ucum = form.end(), form.group("form"), _FORMS[form.group("form").lower()]
            if not text[q_end:next_start].strip():
                return None  # a strength written before the next drug ("... 1% lidocaine")
            taken.append((q.start, q_end))
            return Quantity(
                text=text[q.start : q_end],
                value=q.value,
                low=q.low,
                high=q.high,
                comparator=q.comparator,
                unit=unit,
                ucum=ucum,
                evidence=(_evidence(text, record_id, q.start, q_end, "dose", "quantity with a dose unit or form"),),
            )
        w = _WORD_DOSE.search(text, pos, reach)
        if w is None:
            return None
        taken.append(w.span())
        form_word = w.group("form")
        return Quantity(
            text=w.group(),
            value=_number(w.group("num")),
            unit=form_word,
            ucum=_FORMS[form_word.lower()],
            evidence=(_evidence(text, record_id, w.start(), w.end(), "dose", "number word with a dose form"),),
        )

    def _route_value_of(self, m: re.Match[str]) -> str | None:
        return self._route_value.get(_key(m.group()))

    def _freq_value_of(self, m: re.Match[str]) -> str | None:
        g = m.groupdict()
        if g["fixed"] is not None:
            return self._freq_value.get(_key(g["fixed"]))
        if g["qhr"] is not None:
            return f"Q{int(g['qa'])}-{int(g['qb'])}H"
        if g["ehr"] is not None:
            return f"Q{int(g['ea'])}-{int(g['eb'])}H"
        if g["qh"] is not None:
            return f"Q{int(g['qn'])}H"
        if g["eh"] is not None:
            return f"Q{_fmt(_number(g['en']))}H"
        if g["hourly"] is not None:
            return "Q1H"
        if g["qmin"] is not None:
            return f"Q{int(g['mn'] or g['mn2'])}MIN"
        if g["qd"] is not None:
            return f"Q{_fmt(_number(g['dn'] or g['dn2']))}D"
        if g["qw"] is not None:
            return f"Q{_fmt(_number(g['wn']))}WK"
        return None  # pragma: no cover - every alternative is named

    @staticmethod
    def _attr(
        text: str,
        record_id: str,
        pattern: re.Pattern[str],
        pos: int,
        stop: int,
        taken: list[tuple[int, int]],
        name: str,
        normalise: Callable[[re.Match[str]], str | None],
    ) -> Attribute | None:
        for m in pattern.finditer(text, pos, stop):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            value = normalise(m)
            if value is None:
                continue
            taken.append((s, e))
            return Attribute(
                text=m.group(),
                value=value,
                evidence=(_evidence(text, record_id, s, e, name, f"{name} pattern"),),
            )
        return None

    def _prn(
        self, text: str, record_id: str, pos: int, stop: int, taken: list[tuple[int, int]]
    ) -> tuple[Attribute | None, tuple[int, int] | None]:
        for m in _PRN.finditer(text, pos, stop):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            lead = _REASON_LEAD.match(text, e, stop)
            cursor = lead.end() if lead is not None else e
            words: list[tuple[int, int]] = []
            while lead is not None and len(words) < 4:
                w = _REASON_WORD.match(text, cursor, stop)
                if w is None or w.group().lower() in _REASON_STOP:
                    break
                words.append(w.span())
                gap = re.match(r"[ \t]+", text[w.end() : stop])
                if gap is None:
                    break
                cursor = w.end() + gap.end()
            reason_span = (words[0][0], words[-1][1]) if words else None
            end = reason_span[1] if reason_span else e
            value = " ".join(text[reason_span[0] : reason_span[1]].lower().split()) if reason_span else "true"
            taken.append((s, end))
            explanation = "as needed, with reason" if reason_span else "as needed"
            return (
                Attribute(
                    text=text[s:end], value=value, evidence=(_evidence(text, record_id, s, end, "prn", explanation),)
                ),
                reason_span,
            )
        return None, None

    @staticmethod
    def _use_cues(text: str, start: int, end: int, analysis: TextAnalysis) -> tuple[Cue, ...]:
        s0, s1 = analysis.sentence_at(start)
        s0 = min(s0, start)
        line_start = text.rfind("\n", 0, start) + 1
        look = max(s0, line_start, start - 48)
        before = text[look:start]
        m = _STOPPED_BEFORE.search(before)
        if m is not None:
            return (_cue("historical", look + m.start(), look + m.end(), text, "discontinued"),)
        m = _NOT_TAKING_BEFORE.search(before)
        if m is not None:
            return (_cue("negated", look + m.start(), look + m.end(), text, "not_taking"),)
        after = _STOPPED_AFTER.match(text[end : min(max(s1, end), end + 40)])
        if after is not None:
            return (_cue("historical", end + after.start(), end + after.end(), text, "discontinued"),)
        return ()


def _key(phrase: str) -> str:
    return " ".join(phrase.lower().replace("-", " ").split())


def _duration_value(m: re.Match[str]) -> str:
    unit = m.group("u").lower()
    letter = "D" if unit.startswith("d") else "W" if unit.startswith("w") else "M"
    return f"P{_fmt(_number(m.group('n')))}{letter}"


def _evidence(text: str, record_id: str, start: int, end: int, pattern: str, explanation: str) -> Evidence:
    return Evidence.of(text, record_id, start, end, f"{_P}.{pattern}.v1", explanation=explanation)


def _cue(status: AssertionStatus, start: int, end: int, text: str, rule: str) -> Cue:
    # Trim surrounding whitespace so the cue quotes exactly its words.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Cue(status=status, start=start, end=end, text=text[start:end], rule=f"medlens.context.medication.{rule}.v1")
