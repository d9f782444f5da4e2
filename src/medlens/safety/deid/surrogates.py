"""Realistic, format-preserving surrogates, consistent per patient.

Every choice is derived from the secret through :meth:`PatientKeys.number` with the patient id, the PHI type and
the normalised original, so the same real value gets the same surrogate for the same patient in every document and
every run with the same secret, and nothing needs to be stored. Dates move by the patient's one shift
(:meth:`PatientKeys.date_shift_days`), so intervals between them are kept.

Safe Harbor rules applied (45 CFR §164.514(b)(2)(i)):

* (B) ZIP codes keep their first three digits only when the three-digit area holds more than 20,000 people
  (``lexicon/restricted_zip3.tsv``, HHS list from the 2000 Census); otherwise ``000``. Remaining digits become 0.
* (C) ages over 89 are aggregated into one category, written ``90+``.

No surrogate equals its original, except a ZIP code already generalised (``02100`` stays ``02100``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from medlens.safety.deid.config import DeidConfig, PhiType
from medlens.safety.deid.dates import shift_date, year_of_date
from medlens.safety.deid.keys import PatientKeys
from medlens.safety.deid.lexicon import Lexicons, lexicons

__all__ = ["SurrogateGenerator", "mask", "redaction"]

_NAME_PART_RE = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]")
_POSSESSIVE_RE = re.compile(r"['’][sS]$")


def redaction(phi_type: PhiType) -> str:
    """The redact-mode replacement: ``[NAME]``, ``[DATE]`` ..."""
    return f"[{phi_type}]"


def mask(original: str) -> str:
    """The mask-mode replacement: every letter and digit becomes ``*``; spaces and punctuation stay."""
    return _ALNUM_RE.sub("*", original)


def _case_like(original: str, word: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original.islower():
        return word.lower()
    return word[:1].upper() + word[1:].lower()


@functools.cache
def _pools() -> dict[str, tuple[str, ...]]:
    """Surrogate pools: frequent names that are not common words, and larger places."""
    lex = lexicons()

    def plain(name: str) -> bool:
        return name not in lex.word_level and name not in lex.not_names and name.isalpha() and len(name) >= 3

    firsts = sorted(lex.first_freq, key=lambda n: -lex.first_freq[n])
    female = tuple(n for n in firsts if "F" in lex.first_sex[n] and plain(n))[:600]
    male = tuple(n for n in firsts if "M" in lex.first_sex[n] and plain(n))[:600]
    lasts = tuple(n for n, rank in sorted(lex.last_rank.items(), key=lambda kv: kv[1]) if plain(n))[:2000]
    states = {n.upper() for n in lex.states.values()}
    cities = tuple(
        name
        for name, (_, pop) in sorted(lex.places.items(), key=lambda kv: -kv[1][1])
        if pop >= 50_000 and name not in states and name.replace(" ", "").isalpha()
    )[:600]
    return {"F": female, "M": male, "LAST": lasts, "CITY": cities}


class SurrogateGenerator:
    """Makes the surrogate for one identifier.

    Args:
        keys: the secret-derived keys (consistency across documents and runs).
        config: de-identification settings (``date_shift``, ``day_first``).
    """

    def __init__(self, keys: PatientKeys, config: DeidConfig | None = None) -> None:
        self.keys = keys
        self.config = config or DeidConfig()
        self.lex: Lexicons = lexicons()
        self.pools = _pools()
        cues = self.lex.cues
        self._street_keep = (
            frozenset(w.lower().rstrip(".") for w in cues.addresses.street_suffixes + cues.addresses.unit_words)
            | frozenset(w.lower() for w in cues.addresses.directionals)
            | {"po", "p.o", "box", "post", "office"}
        )
        self._facility_suffixes = sorted({s.lower() for s in cues.facilities.suffixes}, key=lambda s: (-len(s), s))
        self._units = frozenset(w.lower() for w in cues.places.unit_words)
        self._handlers: dict[str, Callable[[str, str], str]] = {
            "NAME": self._name,
            "AGE": lambda original, pid: "90+",
            "PHONE": self._phone,
            "FAX": self._phone,
            "EMAIL": self._email,
            "URL": self._url,
            "IP": self._ip,
            "SSN": self._ssn,
            "ADDRESS": self._address,
            "LOCATION": self._location,
            "ZIP": self._zip,
            "FACILITY": self._facility,
        }

    def surrogate(self, original: str, phi_type: PhiType, patient_id: str | None, *, reference_year: int) -> str:
        """The surrogate for ``original`` (an identifier of ``phi_type``) of this patient.

        Args:
            original: the identifier as written.
            phi_type: its type.
            patient_id: the patient it belongs to (None: records without a patient share one key).
            reference_year: year assumed for dates written without one.
        """
        pid = patient_id or ""
        if phi_type == "DATE":
            return self._date(original, pid, reference_year)
        handler = self._handlers.get(phi_type)
        if handler is not None:
            return handler(original, pid)
        return self._scramble(original, pid, phi_type)

    # --- helpers --------------------------------------------------------------------------------------------------

    def _seed(self, pid: str, *parts: str) -> int:
        return self.keys.number(pid, *parts)

    def _scramble(self, original: str, pid: str, phi_type: str, *, first_digit_min: int = 0) -> str:
        """Same layout, other letters and digits (case kept); keyed on the letters and digits only."""
        normalised = "".join(c for c in original.upper() if c.isalnum())
        if not normalised:
            return original
        seed = self._seed(pid, phi_type, normalised)
        out = []
        first = True
        for k, c in enumerate(original):
            seed = (seed * 6364136223846793005 + 1442695040888963407 + k) % (1 << 64)
            r = seed >> 33
            if c.isdigit():
                low = first_digit_min if first else 0
                out.append(str(low + r % (10 - low)))
                first = False
            elif c.isalpha() and c.isascii():
                letter = "ABCDEFGHJKLMNPRSTUVWXYZ"[r % 23]
                out.append(letter if c.isupper() else letter.lower())
            else:
                out.append(c)
        result = "".join(out)
        if result == original:  # change the last letter or digit
            k = max(i for i, c in enumerate(original) if c.isalnum())
            c = original[k]
            repl = str((int(c) + 1) % 10) if c.isdigit() else ("A" if c.upper() != "A" else "B")
            result = result[:k] + (repl if c.isdigit() or c.isupper() else repl.lower()) + result[k + 1 :]
        return result

    def _pick(self, pool: tuple[str, ...], seed: int, avoid: str) -> str:
        choice = pool[seed % len(pool)]
        if choice.upper() == avoid.upper():
            choice = pool[(seed + 1) % len(pool)]
        return choice

    # --- types ----------------------------------------------------------------------------------------------------

    def _date(self, original: str, pid: str, reference_year: int) -> str:
        if self.config.date_shift:
            shifted = shift_date(
                original, self.keys.date_shift_days(pid), day_first=self.config.day_first, reference_year=reference_year
            )
            return shifted if shifted is not None and shifted != original else redaction("DATE")
        year = year_of_date(original)
        return str(year) if year is not None else redaction("DATE")

    def _name(self, original: str, pid: str) -> str:
        parts = list(_NAME_PART_RE.finditer(original))
        if not parts:
            return self._scramble(original, pid, "NAME")
        out: list[str] = []
        pos = 0
        for m in parts:
            word = m.group()
            out.append(original[pos : m.start()])
            pos = m.end()
            possessive = _POSSESSIVE_RE.search(word)
            core = word[: possessive.start()] if possessive else word
            key = core.upper()
            if len(core) == 1:
                letters = "ABCDEFGHJKLMNPRSTW"
                letter = self._pick(tuple(letters), self._seed(pid, "NAME", "initial", key), key)
                out.append(letter if core.isupper() else letter.lower())
                continue
            if core.lower() in {"van", "von", "de", "del", "della", "der", "den", "di", "da", "du", "la", "le"}:
                out.append(core)
                continue
            role = self._name_role(key)
            if role == "LAST":
                pool = self.pools["LAST"]
            else:
                sex = self.lex.first_sex.get(key, "FM")
                if sex not in {"F", "M"}:
                    sex = "F" if self._seed(pid, "NAME", "sex", key) % 2 else "M"
                pool = self.pools[sex]
            choice = self._pick(pool, self._seed(pid, "NAME", role, key), key)
            out.append(_case_like(core, choice) + (possessive.group() if possessive else ""))
        out.append(original[pos:])
        return "".join(out)

    def _name_role(self, key: str) -> str:
        """First or last name, from the lexicons alone, so a name gets the same surrogate wherever it stands."""
        if key not in self.lex.first_sex:
            return "LAST"
        rank = self.lex.last_rank.get(key)
        return "FIRST" if rank is None or rank > 3000 or self.lex.first_freq.get(key, 0.0) >= 0.02 else "LAST"

    def _phone(self, original: str, pid: str) -> str:
        digits = [i for i, c in enumerate(original) if c.isdigit()]
        keep_country = len(digits) == 11 and original[digits[0]] == "1"
        body_start = digits[1] if keep_country else 0
        body = self._scramble(original[body_start:], pid, "PHONE", first_digit_min=2)
        return original[:body_start] + body

    def _email(self, original: str, pid: str) -> str:
        local, _, _domain = original.partition("@")
        seed = self._seed(pid, "EMAIL", original.lower())
        domains = self.lex.parts.email_domains
        return self._scramble(local, pid, "EMAIL") + "@" + domains[seed % len(domains)]

    def _url(self, original: str, pid: str) -> str:
        m = re.match(r"(?P<scheme>[A-Za-z]+://)?(?P<host>[^/?#]+)(?P<rest>.*)", original)
        hosts = self.lex.parts.web_hosts
        seed = self._seed(pid, "URL", original.lower())
        if m is None:
            return hosts[seed % len(hosts)]
        rest = self._scramble(m.group("rest"), pid, "URL") if m.group("rest") else ""
        host = hosts[seed % len(hosts)]
        if host.lower() == m.group("host").lower():
            host = hosts[(seed + 1) % len(hosts)]
        return (m.group("scheme") or "") + host + rest

    def _ip(self, original: str, pid: str) -> str:
        seed = self._seed(pid, "IP", original.lower())
        parts = self.lex.parts
        if ":" in original:
            return f"{parts.ipv6_prefix}{seed % 0xFFFF + 1:x}"
        prefixes = parts.ipv4_prefixes
        candidate = f"{prefixes[seed % len(prefixes)]}{seed % 254 + 1}"
        return candidate if candidate != original else f"{prefixes[(seed + 1) % len(prefixes)]}{seed % 254 + 1}"

    def _ssn(self, original: str, pid: str) -> str:
        result = self._scramble(original, pid, "SSN", first_digit_min=1)
        digits = "".join(c for c in result if c.isdigit())
        if digits.startswith("666") or digits.startswith("9"):
            k = next(i for i, c in enumerate(result) if c.isdigit())
            result = result[:k] + "5" + result[k + 1 :]
        return result

    def _address(self, original: str, pid: str) -> str:
        out: list[str] = []
        pos = 0
        streets = tuple(self.lex.parts.streets)
        for m in re.finditer(r"[A-Za-z][A-Za-z'’.\-]*|\d+[A-Za-z]?", original):
            out.append(original[pos : m.start()])
            pos = m.end()
            token = m.group()
            if token[0].isdigit():
                out.append(self._scramble(token, pid, "ADDRESS", first_digit_min=1))
            elif token.lower().rstrip(".") in self._street_keep or len(token.rstrip(".")) == 1:
                out.append(token)
            else:
                choice = self._pick(streets, self._seed(pid, "ADDRESS", token.upper()), token)
                out.append(_case_like(token, choice))
        out.append(original[pos:])
        return "".join(out)

    def _location(self, original: str, pid: str) -> str:
        words = original.split()
        unit = words[-1] if len(words) > 1 and words[-1].lower() in self._units else ""
        name = original[: len(original) - len(unit)].rstrip() if unit else original
        choice = self._pick(self.pools["CITY"], self._seed(pid, "LOCATION", " ".join(name.upper().split())), name)
        styled = " ".join(_case_like(name, w) for w in choice.split())
        return f"{styled} {unit}" if unit else styled

    def _zip(self, original: str, pid: str) -> str:
        digits = "".join(c for c in original if c.isdigit())
        keep = digits[:3] if digits[:3] not in self.lex.restricted_zip3 else "000"
        out = []
        k = 0
        for c in original:
            if c.isdigit():
                out.append(keep[k] if k < 3 else "0")
                k += 1
            else:
                out.append(c)
        return "".join(out)

    def _facility(self, original: str, pid: str) -> str:
        words = self.lex.parts.facility_words
        choice = self._pick(tuple(words), self._seed(pid, "FACILITY", " ".join(original.upper().split())), original)
        low = original.lower()
        for suffix in self._facility_suffixes:
            if low.endswith(suffix) and (len(low) == len(suffix) or not low[-len(suffix) - 1].isalpha()):
                tail = original[len(original) - len(suffix) :]
                if len(low) == len(suffix):
                    break
                return f"{choice.upper() if original.isupper() else choice} {tail}"
        of = re.match(r"(?P<head>.+?)[ \t]+of[ \t]+", original)
        if of is not None and of.group("head").lower() in self._facility_suffixes:
            return f"{of.group('head')} of {choice.upper() if original.isupper() else choice}"
        styled = f"{choice} Medical Center"
        return styled.upper() if original.isupper() else styled
