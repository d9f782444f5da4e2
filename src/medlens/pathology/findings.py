"""Histologic type, grade, tumour size, margins, invasion and lymph nodes of a pathology report.

Each ``find_*`` function returns :class:`~medlens.pathology.candidates.Candidate` objects; section precedence is
applied by the caller. Numbers tolerate OCR damage: "3. 5 cm" and "3 .5cm" read as 3.5 cm.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from medlens.pathology.candidates import Candidate
from medlens.pathology.lexicon_models import load_histology
from medlens.pathology.sections import ReportLayout
from medlens.pathology.wordkey import WordMatcher, iter_at, literal_starts

__all__ = [
    "find_grades",
    "find_histologic_types",
    "find_invasion",
    "find_lymph_nodes",
    "find_margins",
    "find_sizes",
    "histology_matcher",
    "to_mm",
]

_NUM = r"\d{1,3}(?:\s?\.\s?\d{1,2}|\.\d{1,2})?|\.\d{1,2}"
_DIM = re.compile(
    rf"(?<![\d.])(?P<d1>{_NUM})\s*(?P<u1>cm|mm)?(?:\s*[xX×*]\s*(?P<d2>{_NUM})\s*(?P<u2>cm|mm)?)?"
    rf"(?:\s*[xX×*]\s*(?P<d3>{_NUM}))?\s*(?P<unit>cm|mm|centimet(?:er|re)s?|millimet(?:er|re)s?)(?![A-Za-z])",
    re.IGNORECASE,
)
_SIZE_CUE = re.compile(
    r"(?:tumou?r\s+size|size\s+of\s+(?:the\s+)?(?:invasive\s+)?(?:tumou?r|carcinoma|lesion|neoplasm)|"
    r"greatest\s+(?:dimension|diameter|extent)|maximum\s+(?:dimension|diameter)|largest\s+(?:dimension|diameter)|"
    r"max(?:imal)?\s+tumou?r\s+(?:dimension|diameter|size)|tumou?r\s+(?:measures|measuring|measured))",
    re.IGNORECASE,
)
_NOUN_AFTER = re.compile(r"[^.;]{0,40}?\b(?:tumou?r|mass|lesion|nodule|neoplasm|carcinoma)\b", re.IGNORECASE)
_TUMOUR_BEFORE = re.compile(
    r"\b(?:carcinoma|tumou?r|mass|lesion|neoplasm|melanoma|sarcoma|adenocarcinoma)\b[^.;:]{0,25}\Z", re.IGNORECASE
)
_NOT_TUMOUR_SIZE = re.compile(r"(?:margin|from|weigh|specimen|fragment|lymph|node|slice|section)[^.;]{0,10}\Z", re.I)
# A distance ("0.1 cm from the deep margin", "0.2 cm away", "within 1 mm of the margin") or the size of a focus,
# in-situ component or satellite nodule is not the tumour size (CAP breast protocol: size of the largest invasive
# focus; medlens reads only sizes stated as the tumour's).
_DISTANCE_AFTER = re.compile(
    r"\s*(?:\([^)]{0,15}\)\s*)?(?:away\b|from\b|(?:to|of)\s+(?:the\s+)?(?:\w+\s+){0,2}margin)", re.IGNORECASE
)
_NOT_TUMOUR_BEFORE = re.compile(
    r"\b(?:within|focus|foci|focally|microscopic|satellite|in\s+situ|dcis|distance|clearance)\b[^.;:]{0,30}\Z", re.I
)

_MARGIN_WORD = re.compile(r"\bmargins?\b", re.IGNORECASE)
_MARGIN_FREE = re.compile(
    r"\b(?:not\s+involved|uninvolved|free|negative|clear|clean|no\s+(?:tumou?r|carcinoma)|widely\s+clear)\b", re.I
)
_MARGIN_INVOLVED = re.compile(r"\b(?:involved|positive|present\s+at|extends?\s+to|transected)\b", re.IGNORECASE)
_CLOSEST = re.compile(
    rf"closest\s+(?:surgical\s+|resection\s+)?margin\W{{0,4}}(?:is\s+)?(?:the\s+)?(?P<name1>[a-z][a-z\s\-/]{{0,25}}?)?"
    rf"(?:\s+margin)?\W{{0,6}}(?:at\s+|by\s+)?(?P<num>{_NUM})\s*(?P<unit>cm|mm)\b"
    rf"|(?P<num2>{_NUM})\s*(?P<unit2>cm|mm)\s+(?:away\s+)?from\s+(?:the\s+)?(?:closest\s+)?(?:inked\s+)?"
    rf"(?P<name2>[a-z][a-z\-/]{{0,20}}(?:\s+[a-z][a-z\-/]{{0,20}})?)\s+(?:surgical\s+|resection\s+)?margin"
    rf"|distance\s+(?:of\s+)?(?:invasive\s+)?(?:carcinoma|tumou?r)?\s*(?:from|to)\s+(?:the\s+)?"
    rf"(?:closest|nearest)\s+margin"
    rf"\W{{0,4}}(?P<num3>{_NUM})\s*(?P<unit3>cm|mm)\b",
    re.IGNORECASE,
)

# Found noun first ("invasion"), then the adjective right before it is checked: much faster than a pattern that
# starts with a long alternation.
_INVASION_NOUN = re.compile(r"[Ii]nvasion|INVASION|[Ii]nvolvement|INVOLVEMENT|[Pp]ermeation|[Ee]mboli|EMBOLI|LVI|PNI")
_LVI_ADJ = re.compile(
    r"(?:lympho[\s\-]?vascular|lymph[\s\-]vascular|angio[\s\-]?lymphatic|lymphatic\s*/\s*vascular|"
    r"vascular\s*/\s*lymphatic|venous\s*/\s*lymphatic|lymphatic|vascular|venous|small\s+vessel)"
    r"(?:\s+(?:space|channel)s?)?\s+\Z",
    re.IGNORECASE,
)
_PNI_ADJ = re.compile(r"peri[\s\-]?neural\s+\Z", re.IGNORECASE)
_ABSENT_BEFORE = re.compile(
    r"\b(?:no|without|negative\s+for|free\s+of|absence\s+of|not)\b[^.;:]{0,25}\Z", re.IGNORECASE
)
_INDET_BEFORE = re.compile(
    r"\b(?:suspicious\s+for|possible|cannot\s+(?:rule\s+out|exclude)|equivocal\s+for)\b[^.;]{0,20}\Z", re.I
)
_PRESENT_BEFORE = re.compile(
    r"\b(?:with|positive\s+for|presence\s+of|shows?|focal|extensive|prominent|multifocal|definite)\s+\Z", re.I
)
_AFTER_STATUS = re.compile(
    r"\W{0,4}(?:is\s+|are\s+)?(?:(?P<absent>not\s+(?:identified|seen|present|detected|noted|appreciated)|absent|"
    r"negative|none|no\b|not\s+applicable)|(?P<indet>indeterminate|cannot\s+be\s+(?:determined|assessed|excluded)|"
    r"equivocal|suspicious|uncertain|unknown)|(?P<present>present|identified|positive|seen|yes\b|extensive|focal|"
    r"noted))",
    re.IGNORECASE,
)

_NODE_RATIO = re.compile(r"(?<![\d/.])\(?(\d{1,2})\s*/\s*(\d{1,2})\)?(?![\d/])")
_RESTATED_WITHIN = 12  # characters between a count and its restatement ("2 of 10 lymph nodes (2/10)")
_NODE_NEAR = re.compile(r"\b(?:lymph|nodes?|LN|LNs)\b", re.IGNORECASE)
_NODE_OF = re.compile(
    r"\b(?P<inv>\d{1,2}|no|none|zero|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:out\s+)?of\s+"
    r"(?P<tot>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty)\s+(?:\w+\s+){0,3}?(?:lymph\s+)?nodes?\b",
    re.IGNORECASE,
)
_NODE_TOTALS = re.compile(
    r"(?:number\s+of\s+)?(?:regional\s+)?lymph\s+nodes?\s+(?P<what>examined|identified|recovered|retrieved|positive|"
    r"involved|with\s+metasta\w+)\s*(?:\(\w+\))?\s*[:\-]?\s*(?P<n>\d{1,3})\b",
    re.IGNORECASE,
)
_WORD_NUMS = {
    "no": 0, "none": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip

_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}
# (system, a word the text must contain for the pattern to be tried, the words every match begins with (lower case;
# the pattern is tried only there; empty: scan the whole text), pattern)
_GRADES: tuple[tuple[str, str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("gleason", "gleason", ("gleason",), re.compile(r"gleason(?:'?\s?s)?\s*(?:score|grade|sum|pattern)?s?\W{0,6}(\d)\s*\+\s*(\d)(?:\s*(?:\(\d+%\))?\s*=\s*(\d{1,2}))?", re.I)),  # noqa: E501
    ("nottingham", "9", ("nottingham", "bloom", "sbr", "elston"), re.compile(r"(?:nottingham|bloom[\s\-]+richardson|sbr|elston)[^.:;]{0,30}?(?:score|grade)?\W{0,8}(\d)\s*(?:/|out\s+of|of)\s*9", re.I)),  # noqa: E501
    ("nottingham", "grade", ("nottingham", "bloom", "sbr", "elston", "combined"), re.compile(r"(?:nottingham|bloom[\s\-]+richardson|sbr|elston|combined\s+histologic)[^.:;]{0,20}?grade\s*(?:\([^)]{0,12}\))?\W{0,6}([1-3]|I{1,3})(?:\s*/\s*3)?(?![\d/,])", re.I)),  # noqa: E501
    ("nottingham", "grade", ("histologic",), re.compile(r"histologic(?:al)?\s+grade\s*\((?:modified\s+)?(?:nottingham|bloom[\s\-]+richardson|elston|sbr)[^)]{0,20}\)\W{0,6}(?:grade\s*)?([1-3]|I{1,3})(?:\s*/\s*3)?(?![\d/,])", re.I)),  # noqa: E501
    ("who", "who", ("who",), re.compile(r"WHO\s*(?:/ISUP\s*)?grade\W{0,3}(IV|I{1,3}|[1-4])(?![A-Za-z0-9])", re.I)),
    ("fuhrman", "fuhrman", ("fuhrman",), re.compile(r"fuhrman\s*(?:nuclear\s*)?grade\W{0,6}(IV|I{1,3}|[1-4])(?![A-Za-z0-9])", re.I)),  # noqa: E501
    ("isup", "isup", ("isup",), re.compile(r"ISUP\s*(?:nuclear\s*)?grade\W{0,6}(IV|I{1,3}|[1-4])(?![A-Za-z0-9])", re.I)),  # noqa: E501
    ("figo", "figo", ("figo",), re.compile(r"FIGO\s*(?:histologic\s*|nuclear\s*|architectural\s*)?grade\W{0,6}(III|I{1,2}|[1-3])(?![A-Za-z0-9])", re.I)),  # noqa: E501
    ("g", "grade", ("histologic", "grade"), re.compile(r"(?:histologic(?:al)?\s+grade|grade)\W{0,6}(G[1-4X](?:\s*-\s*[1-4])?)(?![A-Za-z0-9])", re.I)),  # noqa: E501
    ("g", "differentiated", ("g1", "g2", "g3", "g4"), re.compile(r"(?<![A-Za-z0-9])(G[1-4])\s*:\s*(?:well|moderately|poorly|un)", re.I)),  # noqa: E501
    ("tier", "differentiated", (), re.compile(r"\b(well|moderately|poorly|un)[\s\-]+differentiated\b", re.I)),
    ("tier", "grade", (), re.compile(r"\b(high|low|intermediate)[\s\-]+grade\b(?!\s+(?:dysplasia|pin|squamous\s+intraepithelial|prostatic))", re.I)),  # noqa: E501
)  # fmt: skip


def to_mm(value: float, unit: str) -> float:
    """``value`` in ``unit`` (cm / mm / centimetres / millimetres) as millimetres."""
    return round(value * 10.0, 3) if unit.lower().startswith("c") else value


def _num(raw: str) -> float:
    return float(raw.replace(" ", ""))


@functools.cache
def histology_matcher() -> WordMatcher[str]:
    """Matcher of the histologic-type phrases of ``lexicon/histologic_types.yaml`` (value: the phrase)."""
    matcher: WordMatcher[str] = WordMatcher()
    for phrase in load_histology().histologic_types:
        matcher.add(phrase, phrase)
    return matcher


def find_histologic_types(text: str, layout: ReportLayout) -> list[Candidate]:
    """Histologic type phrases not negated ("negative for carcinoma"); longer phrases rank first in a section."""
    out = []
    for hit in histology_matcher().find(layout.words):
        if _ABSENT_BEFORE.search(text, max(0, hit.start - 30), hit.start):
            continue
        phrase = hit.values[0]
        # "carcinoma" alone says little: rank it below named types
        out.append(Candidate(phrase, hit.start, hit.end, layout.role_at(hit.start), {"value": phrase},
                             priority=0 if phrase == "carcinoma" else 1))  # fmt: skip
    return out


def find_grades(text: str, layout: ReportLayout) -> list[Candidate]:
    """Grade candidates; the earlier grading systems in ``_GRADES`` outrank the later ones in one section."""
    out = []
    low = layout.words.lower
    for rank, (system, gate, anchors, rx) in enumerate(_GRADES):
        if gate not in low:
            continue
        for m in iter_at(rx, text, literal_starts(low, *anchors)) if anchors else rx.finditer(text):
            if system == "gleason":
                a, b = int(m.group(1)), int(m.group(2))
                if not (1 <= a <= 5 and 1 <= b <= 5):
                    continue
                value = f"{a}+{b}={a + b}"
            elif system == "nottingham" and m.group(0).endswith("9"):  # a score "6/9", "6 out of 9"
                value = f"{m.group(1)}/9"
            elif system == "nottingham":  # a grade "2", "II", "2/3"
                value = _ROMAN.get(m.group(1).upper(), m.group(1))
            elif system in ("who", "figo"):
                value = {"1": "I", "2": "II", "3": "III", "4": "IV"}.get(m.group(1), m.group(1).upper())
            elif system in ("fuhrman", "isup"):
                value = _ROMAN.get(m.group(1).upper(), m.group(1))
            elif system == "g":
                value = m.group(1).upper().replace(" ", "")
            else:
                value = m.group(1).lower()
            data: dict[str, Any] = {"value": value, "system": system}
            out.append(Candidate(value, m.start(), m.end(), layout.role_at(m.start()), data, priority=-rank))
    return out


def _dims(m: re.Match[str]) -> list[float]:
    unit = m.group("unit")
    out = []
    for g, ug in (("d1", "u1"), ("d2", "u2"), ("d3", None)):
        raw = m.group(g)
        if raw is None:
            continue
        u = (m.group(ug) if ug else None) or unit
        out.append(to_mm(_num(raw), u))
    return out


def find_sizes(text: str, layout: ReportLayout) -> list[Candidate]:
    """Tumour sizes, in mm; a size after a size cue ranks first.

    A size counts after a size cue ("greatest dimension: 3.8 cm"), right after a tumour word ("carcinoma 1.0 x 1.0 x
    0.9 cm") or before one ("a 3.8 x 3.4 cm ill-defined tumor").
    """
    out = []
    for m in _DIM.finditer(text):
        dims = _dims(m)
        if not dims or max(dims) <= 0 or max(dims) > 400:
            continue
        before = text[max(0, m.start() - 60) : m.start()]
        cue = _SIZE_CUE.search(before)
        priority = None
        if cue is not None and not re.search(r"[.;]\s+[A-Z]", before[cue.end() :]):
            priority = 2
        elif _TUMOUR_BEFORE.search(text, max(0, m.start() - 40), m.start()) and not _NOT_TUMOUR_SIZE.search(
            text, max(0, m.start() - 15), m.start()
        ):
            priority = 1
        elif _NOUN_AFTER.match(text, m.end()) and not _NOT_TUMOUR_SIZE.search(text, max(0, m.start() - 15), m.start()):
            priority = 0
        if priority is None:
            continue
        if _DISTANCE_AFTER.match(text, m.end()) or (
            priority < 2 and _NOT_TUMOUR_BEFORE.search(text, max(0, m.start() - 40), m.start())
        ):
            continue
        dims_sorted = sorted(dims, reverse=True)
        key = f"{dims_sorted[0]:g} mm"
        data = {"largest_mm": dims_sorted[0], "dimensions_mm": tuple(dims_sorted)}
        out.append(Candidate(key, m.start(), m.end(), layout.role_at(m.start()), data, priority=priority))
    return out


def find_margins(text: str, layout: ReportLayout) -> list[Candidate]:
    """Margin status ("margins negative", "margin involved") and closest margin distance and name."""
    out = []
    for m in iter_at(_MARGIN_WORD, text, literal_starts(layout.words.lower, "margin")):
        stop = min(len(text), m.end() + 60)
        dot = re.search(r"[.;]\s+[A-Z0-9]", text[m.end() : stop])
        if dot:
            stop = m.end() + dot.start()
        before = text[max(0, m.start() - 45) : m.start()]
        free = _MARGIN_FREE.search(text, m.end(), stop)
        inv = _MARGIN_INVOLVED.search(text, m.end(), stop)
        status = None
        end = m.end()
        start = m.start()
        if free and (not inv or free.start() <= inv.start() or "not" in text[free.start() : free.end()].lower()):
            status, end = "uninvolved", free.end()
        elif inv and not re.search(r"\b(?:no|not|free|negative)\b[^.;]{0,20}\Z", text[m.end() : inv.start()], re.I):
            status, end = "involved", inv.end()
        else:
            bfree = re.search(
                r"\b(?:free|negative|clear|uninvolved)\s+(?:surgical\s+|resection\s+|all\s+)?\Z", before, re.I
            )
            binv = re.search(r"\b(?:involved|positive)\s+(?:surgical\s+|resection\s+)?\Z|\b(?:extends?|extending)\s+to\s+(?:the\s+)?(?:inked\s+)?(?:\w+\s+)?\Z", before, re.I)  # fmt: skip  # noqa: E501
            if bfree:
                status, start = "uninvolved", m.start() - len(before) + bfree.start()
            elif binv:
                status, start = "involved", m.start() - len(before) + binv.start()
        if status is None:
            continue
        if "closest" in before.lower()[-12:] or re.search(r"\b(?:close|cm|mm)\b", text[m.end() : end], re.I):
            continue  # "closest margin 0.2 cm" is a distance, read below
        out.append(Candidate(status, start, end, layout.role_at(start), {"status": status}))
    for m in _CLOSEST.finditer(text):
        num = m.group("num") or m.group("num2") or m.group("num3")
        unit = m.group("unit") or m.group("unit2") or m.group("unit3")
        name = (m.group("name1") or m.group("name2") or "").strip().lower() or None
        if name in ("is", "the", "margin", "of", "to"):
            name = None
        mm = to_mm(_num(num), unit)
        data: dict[str, Any] = {"closest_distance_mm": mm, "closest_margin": name}
        if mm > 0:
            data["status"] = "uninvolved"
        out.append(Candidate(f"closest {mm:g} mm", m.start(), m.end(), layout.role_at(m.start()), data, priority=-1))
    return out


def find_invasion(text: str, layout: ReportLayout, which: str) -> list[Candidate]:
    """Lymphovascular (``which="lvi"``) or perineural (``"pni"``) invasion: present, absent or indeterminate."""
    adj = _LVI_ADJ if which == "lvi" else _PNI_ADJ
    abbr = "LVI" if which == "lvi" else "PNI"
    out = []
    nouns = literal_starts(layout.words.lower, "invasion", "involvement", "permeation", "emboli")
    nouns = sorted(set(nouns).union(literal_starts(text, abbr)))
    for noun in iter_at(_INVASION_NOUN, text, nouns):
        if noun.group(0) in ("LVI", "PNI"):
            if noun.group(0) != abbr:
                continue
            m_start = noun.start()
        else:
            a = adj.search(text, max(0, noun.start() - 40), noun.start())
            if a is None:
                continue
            m_start = a.start()
        lo = max(0, m_start - 40)
        status = None
        start, end = m_start, noun.end()
        m = noun
        b = _ABSENT_BEFORE.search(text, lo, m_start)
        if b:
            status, start = "absent", b.start()
        elif (b := _INDET_BEFORE.search(text, lo, m_start)) is not None:
            status, start = "indeterminate", b.start()
        elif (b := _PRESENT_BEFORE.search(text, lo, m_start)) is not None:
            status, start = "present", b.start()
        else:
            a = _AFTER_STATUS.match(text, m.end())
            if a is None:
                a2 = re.match(r"[^.;:]{0,25}?\b(?:is|are|was)\s+", text[m.end() : m.end() + 40])
                a = _AFTER_STATUS.match(text, m.end() + a2.end()) if a2 else None
            if a is not None:
                status = "absent" if a.group("absent") else "indeterminate" if a.group("indet") else "present"
                end = a.end()
        if status is None:
            continue
        out.append(Candidate(status, start, end, layout.role_at(m_start), {"status": status}))
    return out


def _n(word: str) -> int:
    return int(word) if word.isdigit() else _WORD_NUMS[word.lower()]


def _before_slash(text: str) -> list[int]:
    """Where a ``_NODE_RATIO`` match can begin: "(" or the one or two digits before a "/" (spaces allowed)."""
    out: list[int] = []
    for p in literal_starts(text, "/"):
        q = p
        while q > 0 and text[q - 1].isspace():
            q -= 1
        out.extend(s for s in (q - 3, q - 2, q - 1) if s >= 0)
    return sorted(set(out))


def _before_of(low: str) -> list[int]:
    """Where a ``_NODE_OF`` match can begin: a word of at most five letters before "[out] of" (spaces allowed)."""
    out: list[int] = []
    for p in literal_starts(low, "of"):
        q = p
        while q > 0 and low[q - 1].isspace():
            q -= 1
        if q == p:
            continue
        ends = [q]
        if low.endswith("out", 0, q):
            r = q - 3
            while r > 0 and low[r - 1].isspace():
                r -= 1
            if r < q - 3:
                ends.append(r)
        out.extend(e - k for e in ends for k in range(1, 6) if e - k >= 0)
    return sorted(set(out))


def _distinct_groups(groups: list[Candidate]) -> list[Candidate]:
    """One group per stated count, so that a restatement is not added twice.

    A ratio inside or right after the same count in words ("two of ten lymph nodes (2/10)") restates it.
    """
    out: list[Candidate] = []
    for c in sorted(groups, key=lambda c: (c.start, -c.end)):
        prev = out[-1] if out else None
        if prev is not None and (c.start < prev.end or (c.key == prev.key and c.start - prev.end <= _RESTATED_WITHIN)):
            if c.end - c.start > prev.end - prev.start and c.start < prev.end:
                out[-1] = c
            continue
        out.append(c)
    return out


def find_lymph_nodes(text: str, layout: ReportLayout) -> tuple[list[Candidate], list[Candidate]]:
    """Node counts: per-group ratios ("(0/4)", "2 of 15 lymph nodes") and stated totals ("lymph nodes examined: 6").

    Returns:
        ``(groups, totals)``; a group's data holds ``involved`` and ``examined``; a total's data holds one of them.
    """
    groups = []
    low = layout.words.lower
    for m in iter_at(_NODE_RATIO, text, _before_slash(text)):
        inv, tot = int(m.group(1)), int(m.group(2))
        if inv > tot or tot == 0:
            continue
        near = _NODE_NEAR.search(text, max(0, m.start() - 70), min(len(text), m.end() + 25))
        if near is None:
            continue
        groups.append(
            Candidate(f"{inv}/{tot}", m.start(), m.end(), layout.role_at(m.start()), {"involved": inv, "examined": tot})
        )
    for m in iter_at(_NODE_OF, text, _before_of(low)):
        inv, tot = _n(m.group("inv")), _n(m.group("tot"))
        if inv > tot or tot == 0:
            continue
        groups.append(
            Candidate(f"{inv}/{tot}", m.start(), m.end(), layout.role_at(m.start()), {"involved": inv, "examined": tot})
        )
    groups = _distinct_groups(groups)
    totals = []
    for m in iter_at(_NODE_TOTALS, text, literal_starts(low, "number", "regional", "lymph")):
        what = m.group("what").lower()
        field = "examined" if what in ("examined", "identified", "recovered", "retrieved") else "involved"
        n = int(m.group("n"))
        totals.append(Candidate(f"{field}={n}", m.start(), m.end(), layout.role_at(m.start()), {field: n}))
    return groups, totals
