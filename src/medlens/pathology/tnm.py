"""pT / pN / pM categories and stated AJCC stage groups, robust to OCR damage.

Handles glued clusters ("pT2aN0", "pT3aR1NOMX", "pT2N2aMXG3", "pT3apN0pMX"), letter-for-digit OCR ("pNO", "pN O",
"pTIc", "Pt2", "pT1B"), sub-categories and suffixes ("T2a", "T1b2", "N1mi", "N0(i+)", "M1b", "Tis", "TX", "pT1c(m)").

A T without a prefix ("T2") counts only inside a TNM cluster ("T2 N0 MX") or after a staging cue ("pTNM stage:",
"AJCC", "classification", "(pT):") within a few words; an N or M alone needs a ``p``/``yp`` prefix or such a cue, so
karyotypes ("T1:42,X"), block labels ("T2") and the word "NO" never count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from medlens.pathology.candidates import Candidate
from medlens.pathology.sections import ReportLayout
from medlens.pathology.wordkey import iter_at, literal_starts

__all__ = ["find_stage_groups", "find_tnm"]

_PRE = r"(?P<pre>[yY][pP]|yc|rp|ps|[pP]|c|r|a|y)?"
_T = re.compile(
    r"(?<![A-Za-z0-9])" + _PRE + r"(?P<t>[Tt])(?P<sp>\s?)"
    r"(?P<cat>is|IS|Is|[0-4]|[Il](?=[a-dA-D]?(?![A-Za-z0-9])|[a-dA-D]?[NMRLVGp])|i(?=[a-d](?![A-Za-z]))|[Oo](?![A-Za-z])"
    r"|[Oo](?=[NM])|[xX](?![A-Za-z0-9])|[xX](?=[NM]))"
    r"(?P<sub>[a-dA-D][1-3]?(?![A-Za-z0-9])|[a-dA-D][1-3]?(?=[NMRLVGp(_\s,;./]))?"
    r"(?P<mult>\s?\((?:m|\d{1,2})\))?"
    r"(?=$|[^A-Za-z0-9:]|[NMRLVGp])",
)
# One further token of a cluster, matched right after the previous one.
_NEXT = re.compile(
    r"(?:[\s,;/_\-]|\.(?=\s*(?:p|c)?[NM]))*?(?:"
    r"(?P<npre>yp|p|c)?N\s?(?P<ncat>[0-3]|[Oo]|[xX]|[Il](?![A-Za-z]))(?P<nsub>mi|[a-cA-C])?"
    r"(?P<nitc>\s?\((?:i|mol|sn)[+\-]?\)|\s?\(sn\))?(?![A-Za-z0-9])?"
    r"|(?P<mpre>p|c)?M\s?(?P<mcat>[01]|[Oo]|[xX])(?P<msub>[a-dA-D])?"
    r"|(?:[LVR]|Pn|G)\s?[0-4xX](?:-[0-4])?"
    r")"
)
_STANDALONE_N = re.compile(
    r"(?<![A-Za-z0-9])(?P<pre>yp|p)\s?N\s?(?P<cat>[0-3]|[Oo]|[xX]|[Il])(?P<sub>mi|[a-cA-C])?"
    r"(?P<itc>\s?\((?:i|mol|sn)[+\-]?\))?(?![A-Za-z0-9])"
)
_STANDALONE_M = re.compile(
    r"(?<![A-Za-z0-9])(?P<pre>yp|p)\s?M\s?(?P<cat>[01]|[Oo]|[xX])(?P<sub>[a-dA-D])?(?![A-Za-z0-9])"
)
# Unprefixed N / M after a label naming them ("N STAGE, PATHOLOGIC:", "Regional lymph nodes (pN):").
_LABELLED = re.compile(
    r"(?:\b(?P<which>[TNM])\s*stage\W{0,3}(?:pathologic(?:al)?)?|\((?:p|yp)?(?P<which2>[TNM])\)|"
    r"(?P<nlab>regional\s+lymph\s+nodes?)|(?P<mlab>distant\s+metastas[ie]s)|(?P<tlab>primary\s+tumou?r))"
    r"\s*[:\-]?\s*(?P<val>(?:yp|p|c)?[TNM]\s?(?:is|[0-4]|[Oo]|[xX])(?:mi|[a-dA-D][1-3]?)?(?:\s?\((?:i|mol)[+\-]\))?)"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_CUE_BEFORE = re.compile(
    r"(?:tnm|ajcc|uicc|stag(?:e|ing)|classification|\(p?[tT]\)|primary\s+tumou?r|tumou?r\s+stage|pathologic)"
    r"[^.;]{0,30}\Z|(?:tnm|ajcc|stag(?:e|ing))(?:\s+data)?\W{0,4}\Z|pathologic(?:al)?\s+T\W{0,3}\Z",
    re.IGNORECASE,
)
# "T2,NOS" (a registry-style T category) counts without a cue.
_NOS_AFTER = re.compile(r",\s?NOS\b")
# A prefixed T right before a colon ("pT4a: Tumor invades larynx", "pTl:") or with a space after the prefix
# ("p T3a", "(p T 3)"): the main pattern leaves these out so that karyotypes ("T1:42,X") never count.
_T_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9])(?P<pre>yp|p)\s?T\s?(?P<cat>is|[0-4]|[Il](?=[a-d]?\s?:)|[Il](?=[a-d]?\s))"
    r"(?P<sub>[a-d][1-3]?)?(?=\s?:|\s?\)|\s|$|[.,;])"
)
# "T Stage: 2 N Stage: 1 M Stage: 0": a bare category after a "T/N/M stage" label.
_STAGE_LABEL_BARE = re.compile(
    r"(?<![A-Za-z0-9])(?P<which>[TNM])\s?stage\s?:\s?(?P<cat>[0-4]|is|[xX])(?P<sub>[a-d])?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_NO_FOLLOWED_BY_WORD = re.compile(r"[\s,]*(?:[A-Za-z]{2,}|evidence)")
_NO_OK_AFTER = re.compile(r"[\s,]*+(?:[LVRG]\d|(?:p|c)?M\s?[01OoXx]|stage\b|$|[^A-Za-z])", re.IGNORECASE)
_STAGE = re.compile(
    r"(?<![A-Za-z])(?P<lead>(?:AJCC|TNM|pTNM|pathologic(?:al)?|anatomic|prognostic|overall)\W{0,3}"
    r"(?:(?:pathologic(?:al)?|tnm|anatomic)\W{0,3})?)?"
    r"(?P<word>stage)(?:\s*group(?:ing)?)?(?:\s*\([^)]{0,25}\))?\s*[:\-]?\s*"
    r"(?P<grp>IV|I{1,3}|0)(?P<sub>[ABC][1-3]?)?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_STAGE_NOT_AJCC = re.compile(r"(?:figo|masaoka|ann\s+arbor|clark|dukes?|astler|koh|tumou?r)\W{0,12}\Z", re.IGNORECASE)


def _digit(c: str) -> str:
    return {"o": "0", "O": "0", "I": "1", "l": "1", "i": "1", "L": "1"}.get(c, c)


def _norm_cat(letter: str, cat: str) -> str:
    if cat.lower() == "is":
        return "is"
    if cat in "xX":
        return "X"
    return _digit(cat)


def _make(
    letter: str, prefix: str | None, cat: str, sub: str, suffix: str, start: int, end: int, layout: ReportLayout
) -> Candidate:
    c = _norm_cat(letter, cat)
    main = f"{letter}{c}"
    sub_norm = sub.lower()
    full = main + sub_norm
    sfx = suffix.replace(" ", "").lower()
    if sfx and (sfx.startswith("(i") or sfx.startswith("(mol") or sfx.startswith("(sn")):
        full += sfx.replace("(i)", "(i+)")
    pre = (prefix or "").lower() or None
    if pre == "y":
        pre = "yp"
    if pre == "ps":
        pre = "p"
    multiple = letter == "T" and sfx.startswith("(m")
    value = f"{pre or ''}{full}{'(m)' if multiple else ''}"
    return Candidate(
        key=value,
        start=start,
        end=end,
        section=layout.role_at(start),
        data={"value": value, "prefix": pre, "category": main, "subcategory": full, "multiple": multiple},
        priority=1 if pre in ("p", "yp", "rp") else 0,
    )


def _cue_before(text: str, start: int) -> bool:
    return _CUE_BEFORE.search(text, max(0, start - 45), start) is not None


def _p_starts(text: str, letter: str) -> list[int]:
    """Where a ``p``/``yp``-prefixed category can begin: the "p" (or the "y" of "yp") before ``letter``."""
    starts = literal_starts(text, f"p{letter}", f"p {letter}")
    return sorted(set(starts).union(p - 1 for p in starts if p and text[p - 1] == "y"))


def find_tnm(text: str, layout: ReportLayout) -> dict[str, list[Candidate]]:
    """T, N and M candidates of a report.

    Args:
        text: the report.
        layout: its sections.

    Returns:
        ``{"T": [...], "N": [...], "M": [...]}``; evidence spans quote each category as written.
    """
    out: dict[str, list[Candidate]] = {"T": [], "N": [], "M": []}
    seen: set[tuple[str, int]] = set()

    def add(letter: str, cand: Candidate) -> None:
        if (letter, cand.start) not in seen:
            seen.add((letter, cand.start))
            out[letter].append(cand)

    for m in _T.finditer(text):
        pre = m.group("pre")
        if pre is None and m.group("t") != "T":
            continue
        cat = m.group("cat")
        tokens: list[tuple[str, re.Match[str]]] = []
        have: set[str] = set()
        pos = m.end()
        while True:
            nm = _NEXT.match(text, pos)
            if nm is None or nm.end() == pos:
                break
            if nm.group("ncat") is not None:
                glued = nm.start() == pos and text[pos] == "N"  # "T2NO": an O glued to a T cluster is a zero
                if have & {"N", "M"} or (
                    nm.group("ncat") in "Oo" and not glued and not _NO_OK_AFTER.match(text, nm.end())
                ):
                    break
                tokens.append(("N", nm))
                have.add("N")
            elif nm.group("mcat") is not None:
                if "M" in have:
                    break
                tokens.append(("M", nm))
                have.add("M")
            pos = nm.end()
        strong = pre is not None and pre.lower() in ("p", "yp", "rp", "ps", "y")
        strong = strong or _NOS_AFTER.match(text, m.end()) is not None
        if not (strong or tokens or _cue_before(text, m.start())):
            continue
        if cat in "Oo" and not strong:
            continue
        if m.group("sp") and not (strong or tokens or _cue_before(text, m.start())):
            continue
        add("T", _make("T", pre, cat, m.group("sub") or "", m.group("mult") or "", m.start(), m.end(), layout))
        for letter, nm in tokens:
            g = "n" if letter == "N" else "m"
            start = nm.start(f"{g}pre") if nm.group(f"{g}pre") else nm.start(f"{g}cat") - 1
            while text[start] not in "NM" and not nm.group(f"{g}pre"):
                start -= 1
            suffix = nm.group("nitc") or "" if letter == "N" else ""
            add(
                letter,
                _make(
                    letter,
                    nm.group(f"{g}pre") or pre,
                    nm.group(f"{g}cat"),
                    nm.group(f"{g}sub") or "",
                    suffix or "",
                    start,
                    nm.end(),
                    layout,
                ),
            )
    for m in iter_at(_T_PREFIXED, text, _p_starts(text, "T")):
        add("T", _make("T", m.group("pre"), m.group("cat"), m.group("sub") or "", "", m.start(), m.end(), layout))
    stage_words = literal_starts(layout.words.lower, "stage")
    for m in iter_at(_STAGE_LABEL_BARE, text, [p - k for p in stage_words for k in (1, 2) if p >= k]):
        letter = m.group("which").upper()
        add(letter, _make(letter, None, m.group("cat"), m.group("sub") or "", "", m.start(), m.end(), layout))
    for rx, letter in ((_STANDALONE_N, "N"), (_STANDALONE_M, "M")):
        for m in iter_at(rx, text, _p_starts(text, letter)):  # every match begins at the "p" or "yp"
            if m.group("cat") in "Oo" and not _NO_OK_AFTER.match(text, m.end()):
                continue
            itc = m.groupdict().get("itc") or ""
            end = m.end()
            add(
                letter, _make(letter, m.group("pre"), m.group("cat"), m.group("sub") or "", itc, m.start(), end, layout)
            )
    low = layout.words.lower
    starts = literal_starts(low, "(", "regional", "distant", "primary")
    for p in literal_starts(low, "stage"):  # "T stage", "Nstage": the letter right before the spaces
        q = p
        while q > 0 and low[q - 1].isspace():
            q -= 1
        if q > 0:
            starts.append(q - 1)
    for m in iter_at(_LABELLED, text, sorted(set(starts))):
        val = m.group("val")
        vm = re.match(
            r"(?P<pre>yp|p|c)?(?P<l>[TNM])\s?(?P<cat>is|[0-4]|[Oo]|[xX])(?P<sub>mi|[a-dA-D][1-3]?)?(?P<itc>\s?\((?:i|mol)[+\-]\))?",
            val,
            re.IGNORECASE,
        )
        if vm is None:  # pragma: no cover - val is matched by the same grammar
            continue
        letter = vm.group("l").upper()
        s = m.start("val")
        add(
            letter,
            _make(
                letter,
                vm.group("pre"),
                vm.group("cat"),
                vm.group("sub") or "",
                vm.group("itc") or "",
                s,
                m.end(),
                layout,
            ),
        )
    return out


def find_stage_groups(text: str, layout: ReportLayout) -> Iterator[Candidate]:
    """Stated AJCC stage groups ("Stage IIA", "AJCC stage: IIIB", "pathologic stage group IV").

    FIGO, Masaoka, Ann Arbor, Clark and Dukes stages are not AJCC stage groups and are skipped.
    """
    starts = literal_starts(
        layout.words.lower, "ajcc", "tnm", "ptnm", "pathologic", "anatomic", "prognostic", "overall", "stage"
    )
    for m in iter_at(_STAGE, text, starts):
        grp, sub = m.group("grp"), m.group("sub") or ""
        if grp != grp.upper() or (sub and sub != sub.upper()):
            continue
        if _STAGE_NOT_AJCC.search(text, max(0, m.start() - 20), m.start()):
            continue
        word = m.group("word")
        if m.group("lead") is None and word == "stage" and m.start() > 0 and grp == "I" and not sub:
            # lower-case "stage I" without a lead word is still a stage; keep (common in prose diagnoses)
            pass
        value = grp + sub
        yield Candidate(
            key=value,
            start=m.start("grp"),
            end=m.end(),
            section=layout.role_at(m.start()),
            data={"value": value, "group": grp},
            priority=1 if m.group("lead") else 0,
        )
