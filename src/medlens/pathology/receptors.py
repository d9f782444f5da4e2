"""Biomarkers: ER, PR (percent, intensity, Allred), HER2 (IHC score, ISH), Ki-67 and mismatch repair / MSI.

Each marker name opens a window of up to ``_WINDOW`` characters that ends at the next marker name, so "ER positive,
PR negative and HER2 negative" gives each marker its own result. Values are read only inside the window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from medlens.pathology.candidates import Candidate
from medlens.pathology.sections import ReportLayout
from medlens.pathology.wordkey import iter_at, literal_starts

__all__ = ["find_er_pr", "find_her2", "find_ki67", "find_mmr"]

_WINDOW = 90
_ER = re.compile(
    r"(?<![A-Za-z])(?:estrogen|oestrogen)[\s\-]+receptors?|(?<![A-Za-z])ER(?:[\s\-]?alpha)?(?![A-Za-z])", re.I
)
_PR = re.compile(
    r"(?<![A-Za-z])progesterone[\s\-]+receptors?|(?<![A-Za-z])PgR(?![A-Za-z])|(?<![A-Za-z])PR(?![A-Za-z])", re.I
)
_HER2 = re.compile(
    r"(?<![A-Za-z])(?:HER[\s\-]?2(?:\s?/\s?neu)?|c[\s\-]?erb[\s\-]?B[\s\-]?2|ERBB2)(?![A-Za-z0-9])", re.I
)
_KI67 = re.compile(r"(?<![A-Za-z])(?:Ki[\s\-]?67|MIB[\s\-]?1)(?![0-9])", re.I)
_ANY_MARKER = re.compile(
    _ER.pattern + "|" + _PR.pattern + "|" + _HER2.pattern + "|" + _KI67.pattern + r"|\b(?:p53|CK\s?\d|AR|androgen)\b",
    re.I,
)
_CASE_SENSITIVE_ABBR = frozenset({"ER", "PR", "PGR"})
_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\s?\.\s?\d+)?)\s*(?:(?:-|to)\s*(\d{1,3}(?:\.\d+)?)\s*)?%")
_POS = re.compile(r"\b(?:positive|pos|\(\+\)|reactive)\b|(?<=\s)\+(?=\W)", re.I)
_NEG = re.compile(r"\b(?:negative|neg|non[\s\-]?reactive|\(-\))\b", re.I)
_LOW = re.compile(r"\blow[\s\-]+positive\b", re.I)
_INTENSITY = re.compile(r"\b(weak|moderate|strong)(?:ly)?\b", re.I)
_ALLRED = re.compile(r"allred(?:\s+score)?\W{0,4}(\d)(?:\s*/\s*8)?", re.I)
_IHC = re.compile(r"(?:score\W{0,6}|^|[\s(:,])([0-3])\s?\+|(?:score|ihc)\W{0,6}(0)\b|\b(zero)\b", re.I)
_ISH = re.compile(
    r"\b(not\s+amplified|non[\s\-]?amplified|no\s+(?:gene\s+)?amplification|amplified|amplification|equivocal)\b", re.I
)
_ISH_CUE = re.compile(r"\b(?:FISH|ISH|SISH|CISH|DISH|ratio|copy\s+number|amplif)", re.I)
_MMR_PROTEIN = re.compile(r"\b(MLH[\s\-]?1|MSH[\s\-]?2|MSH[\s\-]?6|PMS[\s\-]?2)\b", re.I)
_MMR_INTACT = re.compile(r"\b(intact|retained|preserved|present|positive|normal)\b", re.I)
_MMR_LOST = re.compile(r"\b(loss|lost|absent|negative|deficient|not\s+expressed)\b", re.I)
_MSI = re.compile(
    r"\b(MSI[\s\-]?H(?:igh)?|high[\s\-]+(?:level\s+)?microsatellite\s+instability|MSI[\s\-]?L(?:ow)?|"
    r"low[\s\-]+(?:level\s+)?microsatellite\s+instability|MSS|microsatellite[\s\-]+stable)\b",
    re.I,
)


def _abbr_ok(m: re.Match[str]) -> bool:
    word = m.group(0)
    return word.upper() not in _CASE_SENSITIVE_ABBR or word.isupper()


def _window(text: str, end: int, own: re.Pattern[str]) -> int:
    limit = min(len(text), end + _WINDOW)
    for m in _ANY_MARKER.finditer(text, end, limit):
        if not own.fullmatch(m.group(0)) and _abbr_ok(m):
            return m.start()
    return limit


def _number(raw: str) -> float:
    return float(raw.replace(" ", ""))


def _receptor(text: str, layout: ReportLayout, rx: re.Pattern[str], starts: list[int]) -> Iterator[Candidate]:
    for m in iter_at(rx, text, starts):
        if not _abbr_ok(m):
            continue
        stop = _window(text, m.end(), rx)
        data: dict[str, Any] = {}
        end = m.end()
        first = None
        for name, hit_rx in (("low_positive", _LOW), ("negative", _NEG), ("positive", _POS)):
            hit = hit_rx.search(text, m.end(), stop)
            if hit and (first is None or hit.start() < first[1]):
                first = (name, hit.start(), hit.end())
        if first is not None:
            data["status"] = first[0]
            end = max(end, first[2])
        pct = _PERCENT.search(text, m.end(), stop)
        if pct:
            value = _number(pct.group(2) or pct.group(1))
            if value <= 100:
                data["percent"] = value
                end = max(end, pct.end())
        inten = _INTENSITY.search(text, m.end(), stop)
        if inten:
            data["intensity"] = inten.group(1).lower()
            end = max(end, inten.end())
        allred = _ALLRED.search(text, m.end(), stop)
        if allred and int(allred.group(1)) <= 8:
            data["allred"] = int(allred.group(1))
            end = max(end, allred.end())
        if data:
            key = "/".join(f"{k}={v}" for k, v in sorted(data.items()))
            yield Candidate(key, m.start(), end, layout.role_at(m.start()), data)


def find_er_pr(text: str, layout: ReportLayout) -> tuple[list[Candidate], list[Candidate]]:
    """ER and PR candidates (status, percent, intensity, Allred)."""
    low = layout.words.lower
    # Where a match that passes _abbr_ok can begin: the upper-case abbreviation, the full word, or "er" before "alpha"
    # (a lower-case "er"/"pr" alone is rejected). Trying the pattern only there is much faster than a full scan.
    er_starts = literal_starts(text, "ER") + literal_starts(low, "estrogen", "oestrogen")
    er_starts += [p - k for p in literal_starts(low, "alpha") for k in (2, 3) if p >= k]
    er_starts += [p - 1 for p in literal_starts(low, "estrogen") if p]
    pr_starts = literal_starts(text, "PR", "PGR") + literal_starts(low, "progesterone")
    return (
        list(_receptor(text, layout, _ER, sorted(set(er_starts)))),
        list(_receptor(text, layout, _PR, sorted(set(pr_starts)))),
    )


def find_her2(text: str, layout: ReportLayout) -> list[Candidate]:
    """HER2 candidates: IHC score (0, 1+, 2+, 3+; two different scores "0 or 1+" leave it unset), ISH, status."""
    out = []
    low = layout.words.lower
    starts = literal_starts(low, "her", "erbb2") + [p - k for p in literal_starts(low, "erb") for k in (1, 2) if p >= k]
    for m in iter_at(_HER2, text, sorted(set(starts))):
        stop = _window(text, m.end(), _HER2)
        data: dict[str, Any] = {}
        end = m.end()
        scores = set()
        for s in _IHC.finditer(text, m.end(), stop):
            scores.add("0" if (s.group(2) or s.group(3)) else f"{s.group(1)}+".replace("0+", "0"))
            end = max(end, s.end())
        if len(scores) == 1:
            data["ihc"] = scores.pop()
        if _ISH_CUE.search(text, max(0, m.start() - 30), stop):
            ish = _ISH.search(text, m.end(), stop)
            if ish:
                word = ish.group(1).lower()
                data["ish"] = (
                    "equivocal"
                    if word == "equivocal"
                    else "amplified"
                    if word in ("amplified", "amplification")
                    else "not_amplified"
                )
                end = max(end, ish.end())
        neg, pos = _NEG.search(text, m.end(), stop), _POS.search(text, m.end(), stop)
        eq = re.search(r"\bequivocal\b", text[m.end() : stop], re.I)
        hits = [(h.start(), name, h.end()) for h, name in ((neg, "negative"), (pos, "positive")) if h]
        if hits:
            _, name, hend = min(hits)
            data["status"] = name
            end = max(end, hend)
        elif eq and "ish" not in data:
            data["status"] = "equivocal"
        if data:
            key = "/".join(f"{k}={v}" for k, v in sorted(data.items()))
            out.append(Candidate(key, m.start(), end, layout.role_at(m.start()), data))
    return out


def find_ki67(text: str, layout: ReportLayout) -> list[Candidate]:
    """Ki-67 candidates: the percent stated after the marker (upper bound of a range)."""
    out = []
    for m in iter_at(_KI67, text, literal_starts(layout.words.lower, "ki", "mib")):
        stop = _window(text, m.end(), _KI67)
        pct = _PERCENT.search(text, m.end(), stop)
        if pct:
            value = _number(pct.group(2) or pct.group(1))
            if value <= 100:
                out.append(
                    Candidate(f"{value:g}%", m.start(), pct.end(), layout.role_at(m.start()), {"percent": value})
                )
    return out


def find_mmr(text: str, layout: ReportLayout) -> tuple[list[tuple[str, str, int, int, str]], list[Candidate]]:
    """Mismatch-repair protein results ``(protein, status, start, end, section)`` and MSI candidates.

    A status word after a run of protein names ("MLH1, MSH2, MSH6 and PMS2: intact") applies to each of them.
    """
    proteins: list[tuple[str, str, int, int, str]] = []
    pending: list[tuple[str, int]] = []
    low = layout.words.lower
    for m in iter_at(_MMR_PROTEIN, text, literal_starts(low, "mlh", "msh", "pms")):
        name = re.sub(r"[\s\-]", "", m.group(1)).upper()
        pending.append((name, m.start()))
        nxt = _MMR_PROTEIN.search(text, m.end(), m.end() + 15)
        if nxt is not None:
            continue
        stop = min(len(text), m.end() + 60)
        lost, intact = _MMR_LOST.search(text, m.end(), stop), _MMR_INTACT.search(text, m.end(), stop)
        found = [(h.start(), s, h.end()) for h, s in ((lost, "lost"), (intact, "intact")) if h]
        if found:
            _, status, end = min(found)
            for pname, pstart in pending:
                proteins.append((pname, status, pstart, end, layout.role_at(pstart)))
        pending = []
    msi = []
    has_msi = "msi" in low or "mss" in low or "microsatellite" in low  # every _MSI match holds one of these
    for m in _MSI.finditer(text) if has_msi else ():
        word = m.group(1).lower()
        value = (
            "MSS"
            if ("mss" in word or "stable" in word)
            else "MSI-L"
            if ("low" in word or word.endswith("l"))
            else "MSI-H"
        )
        msi.append(Candidate(value, m.start(), m.end(), layout.role_at(m.start()), {"msi": value}))
    return proteins, msi
