"""Network contacts as identifiers: e-mail addresses, URLs and IP addresses, OCR noise included.

Safe Harbor identifiers (F) e-mail addresses, (N) URLs and (O) IP addresses, 45 CFR §164.514(b)(2)(i). Scanned notes
carry OCR noise (O/0 and l/1 swaps, spaces inside a value): the patterns here tolerate it where the value stays
unambiguous ("https://porta l.example.net/p/9 16824", "10.l2 2.124.34", "name@exam ple.com").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from medlens.safety.deid.config import PhiType

__all__ = ["find_net_contacts"]

# OCR: a space may split a domain label ("med ina.com") and 0 may stand for O in the top-level domain ("C0M").
_EMAIL_RE = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9]"
    r"(?:[A-Za-z0-9\-]*(?:[ ](?=[A-Za-z0-9\-]+\.[A-Za-z]))?[A-Za-z0-9\-]*\.)+[A-Za-z][A-Za-z0]*[A-Za-z]\b"
)
_EMAIL_HEAD_RE = re.compile(r"(?:^|(?<=\s))[A-Za-z0-9][A-Za-z0-9._%+\-]* $")
_TLDS = "com|org|net|edu|gov|mil|int|io|us|info|biz|health|co|uk|ca"
_URL_RE = re.compile(
    r"(?i:(?:https?|ftp)://|www\.)[^\s<>\"'\]\[(){}|]+"
    rf"|(?<![@\w.\-/])(?:[a-z0-9][a-z0-9\-]*[a-z][a-z0-9\-]*\.)+(?:{_TLDS})(?:/[^\s<>\"'\]\[(){{}}|]*)?(?![\w@])"
)
# OCR: a space inside a URL. A following piece continues it when it holds a path or query character, ends in a
# page extension, or (after a digit) is all digits: "https://porta l.example.net/p/9 16824".
_URL_CONT_RE = re.compile(
    r" (?:[^\s<>\"'\]\[(){}|]*(?:[/?=]|\.(?i:s?html?|jsp|php|aspx?|cgi)(?![\w]))[^\s<>\"'\]\[(){}|]*)"
)
_WORD_SLASH_RE = re.compile(r" ([A-Za-z]+)/([A-Za-z]+)[.,;:!?]?")
_URL_DIGITS_CONT_RE = re.compile(r" \d+(?![\w/\-]|[.,]\d)")
_IPV4_RE = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]\d)"
)
_IPV6_RE = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*::|(?:[0-9A-Fa-f]{1,4}:){7})[0-9A-Fa-f:]{3,39}(?![\w:])")
# OCR: look-alike letters and at most one space inside an octet ("10.l2 2.124.34").
_IPV4_OCR_RE = re.compile(
    r"(?<![\w.])(?:[0-9OolI](?: ?[0-9OolI]){0,2}\.){3}[0-9OolI](?: ?[0-9OolI]){0,2}(?![\w.]|\.\d)"
)
_IPV6_OCR_RE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-fOolI]{1,4}:){7}[0-9A-Fa-fOolI]{1,4}(?![\w:])")
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", " ": None})


def find_net_contacts(text: str, english: frozenset[str]) -> Iterator[tuple[int, int, PhiType, str, float]]:
    """E-mail, URL and IP hits of ``text`` as (start, end, type, detector id, confidence).

    Args:
        text: the text.
        english: common English words, upper case (a word before an address is not part of it).

    Yields:
        Hits, possibly overlapping (the caller merges).
    """
    emails: list[tuple[int, int]] = []
    for m in _EMAIL_RE.finditer(text):
        start = _email_start(text, m.start(), english)
        emails.append((start, m.end()))
        yield (start, m.end(), "EMAIL", "medlens.deid.email.pattern.v1", 0.99)
    for m in _URL_RE.finditer(text):
        end = _url_end(text, m.end(), english)
        while end > m.start() and text[end - 1] in ".,;:!?":
            end -= 1
        if "@" in text[max(0, m.start() - 1) : end] or any(s <= m.start() < e for s, e in emails):
            continue
        yield (m.start(), end, "URL", "medlens.deid.url.pattern.v1", 0.95)
    for m in _IPV4_RE.finditer(text):
        yield (m.start(), m.end(), "IP", "medlens.deid.ip.v4.v1", 0.9)
    for m in _IPV6_RE.finditer(text):
        try:
            ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        yield (m.start(), m.end(), "IP", "medlens.deid.ip.v6.v1", 0.9)
    for m in _IPV4_OCR_RE.finditer(text):
        raw = m.group()
        if (
            sum(c.isdigit() for c in raw) >= 7
            and raw.count(" ") <= 1
            and not _IPV4_RE.fullmatch(raw)
            and all(int(o.translate(_OCR_DIGITS)) <= 255 for o in raw.split("."))
        ):
            yield (m.start(), m.end(), "IP", "medlens.deid.ip.v4_ocr.v1", 0.8)
    if text.count(":") >= 7:
        for m in _IPV6_OCR_RE.finditer(text):
            raw = m.group()
            if not any(c in "OolI" for c in raw):
                continue
            try:
                ipaddress.IPv6Address(raw.translate(_OCR_DIGITS))
            except ValueError:
                continue
            yield (m.start(), m.end(), "IP", "medlens.deid.ip.v6_ocr.v1", 0.8)


def _email_start(text: str, start: int, english: frozenset[str]) -> int:
    """Start of an e-mail address whose local part OCR split with a space ("phillipsk aren@...")."""
    if start < 2 or text[start - 1] != " ":
        return start
    head = _EMAIL_HEAD_RE.search(text, max(0, start - 40), start)
    if head is None or len(head.group()) < 4 or head.group()[:-1].upper() in english:
        return start
    return head.start()


def _url_end(text: str, end: int, english: frozenset[str]) -> int:
    """End of a URL that OCR split with spaces: pieces that still read as path, page or digits continue it.

    Two common words joined by a slash ("and/or") are prose, not a path.
    """
    while end < len(text) and text[end] == " " and text[end - 1].isalnum():
        m = _URL_CONT_RE.match(text, end)
        words = _WORD_SLASH_RE.fullmatch(m.group()) if m is not None else None
        if words is not None and all(w.upper() in english or len(w) <= 2 for w in words.groups()):
            break
        if m is None and text[end - 1].isdigit():
            m = _URL_DIGITS_CONT_RE.match(text, end)
        if m is None:
            break
        end = m.end()
    return end
