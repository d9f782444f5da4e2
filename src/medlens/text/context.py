"""ConText-style assertion: negated / uncertain / historical / hypothetical / family for target spans.

Algorithm (Harkema et al., J Biomed Inform 2009;42(5):839-51), as implemented here:

1. Cues from ``lexicon/context_rules.yaml`` are found once per text: all literal phrases through one compiled
   trie-shaped regex, all regex rules through one alternation. Overlaps resolve leftmost-longest; on equal spans
   pseudo-cues win ("no increase" hides "no"), then terminators, then regex rules, then literals.
2. For each target, only the cues of its sentence are considered (bisect on cue offsets). A status cue applies
   when its direction points at the target (forward cues precede it, backward cues follow it, bidirectional
   either way; a cue overlapping the target applies too), no terminator for that status lies between them
   (``but``, ``however``, ``;``, "and she has" ...), no cue of a cross-terminating status lies between them
   ("no fever, possible pneumonia"), and the gap fits the cue's window of word tokens. A gap that is a list
   ("no clubbing, cyanosis, or edema") may exceed the window when every further list item is short.
3. Section statuses: every target in ``family_history`` is ``family``, in ``past_medical_history`` and
   ``past_surgical_history`` ``historical``; the cue is the section header.

Matching is case-insensitive, so ALL-CAPS notes work unchanged.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from medlens.core.types import ASSERTION_STATUSES, Assertion, AssertionStatus, Cue
from medlens.text.analysis import TextAnalysis, analyze
from medlens.text.lexicon_models import ContextLexicon, load_context_lexicon
from medlens.text.sections import Section

__all__ = ["ContextEngine"]

_WORD = re.compile(r"\w+")
_LIST_SEP = re.compile(r",|/|&|\b(?:or|and|nor|and/or)\b", re.IGNORECASE)
_CONNECTORS = frozenset({"or", "and", "nor"})
_RANK = {"pseudo": 0, "terminate": 1}
_FORWARD = frozenset({"forward", "bidirectional"})
_BACKWARD = frozenset({"backward", "bidirectional"})
_AFFIRMED = Assertion()
_LOOKBACK = 64


@dataclass(frozen=True, slots=True)
class _Condition:
    """Context checks of one rule, compiled for lower-cased text (``low``) and, as a fallback, case-insensitively."""

    followed_by: tuple[re.Pattern[str], re.Pattern[str]] | None
    not_followed_by: tuple[re.Pattern[str], re.Pattern[str]] | None
    preceded_by: tuple[re.Pattern[str], re.Pattern[str]] | None
    not_preceded_by: tuple[re.Pattern[str], re.Pattern[str]] | None
    extend: bool

    def check(self, text: str, cs: int, ce: int, folded: bool) -> int:
        """The (possibly widened) cue start if the conditions hold, else -1."""
        k = 0 if folded else 1
        if self.followed_by is not None and self.followed_by[k].match(text, ce) is None:
            return -1
        if self.not_followed_by is not None and self.not_followed_by[k].match(text, ce) is not None:
            return -1
        lo = max(0, cs - _LOOKBACK)
        if self.not_preceded_by is not None and self.not_preceded_by[k].search(text, lo, cs) is not None:
            return -1
        if self.preceded_by is not None:
            m = self.preceded_by[k].search(text, lo, cs)
            if m is None:
                return -1
            if self.extend:
                return m.start()
        return cs


def _both(pattern: str | None, *, before: bool = False) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    if pattern is None:
        return None
    src = f"(?:{pattern})\\Z" if before else pattern
    return re.compile(src, re.MULTILINE), re.compile(src, re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Rule:
    full_id: str
    status: AssertionStatus | None
    direction: str
    max_scope: int
    sections: frozenset[str] | None
    terminates: frozenset[str]
    rank: int
    condition: _Condition | None


def _trie_regex(phrases: Iterable[str]) -> str:
    """A regex alternation shaped as a character trie (fast: one branch per first letter, longest first)."""
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for word_i, word in enumerate(phrase.split()):
            if word_i:
                node = node.setdefault(" ", {})
            for ch in word:
                node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [(r"\s+" if k == " " else re.escape(k)) + build(node[k]) for k in sorted(node) if k]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            return f"(?:{body})?" if len(alts) == 1 else body + "?"
        return body

    return build(trie)


def _key(s: str) -> str:
    return " ".join(s.casefold().split())


class ContextEngine:
    """Decides negated/uncertain/historical/hypothetical/family for target spans from cue lexicons.

    Args:
        lexicon: the cue lexicon (default: the packaged ``context_rules.yaml``).
    """

    def __init__(self, lexicon: ContextLexicon | None = None) -> None:
        lex = lexicon or load_context_lexicon()
        st = lex.settings
        self._list_item_max = st.list_item_max_tokens
        self._max_list_items = st.max_list_items
        self._cross: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in st.cross_terminate.items()}
        self._section_status: dict[str, AssertionStatus] = dict(st.section_statuses)
        self._last_text: str | None = None
        self._last_cues: list[tuple[int, int, int]] = []
        self._rules: list[_Rule] = []
        literal_map: dict[str, list[int]] = {}
        regex_parts: list[tuple[int, str, bool]] = []
        owners: dict[str, int] = {}
        for r in lex.rules:
            for lit in r.literals:
                owners[_key(lit)] = owners.get(_key(lit), 0) + 1
        for r in lex.rules:
            idx = len(self._rules)
            rank = _RANK.get(r.direction, 2 if r.regex is not None else 3)
            # Speed: a conditional rule whose literals no other rule uses, and that has a followed_by condition,
            # is matched as one regex with the condition as a lookahead, so the very common words it keys on
            # ("and", "she", "the patient") are skipped at C speed unless the condition holds. Same result.
            as_regex = (
                r.followed_by is not None and bool(r.literals) and all(owners[_key(lit)] == 1 for lit in r.literals)
            )
            condition = None
            if r.conditional:
                condition = _Condition(
                    followed_by=None if as_regex else _both(r.followed_by),
                    not_followed_by=None if as_regex else _both(r.not_followed_by),
                    preceded_by=_both(r.preceded_by, before=True),
                    not_preceded_by=_both(r.not_preceded_by, before=True),
                    extend=r.extend_to_preceding,
                )
                if as_regex and condition.preceded_by is None and condition.not_preceded_by is None:
                    condition = None
            self._rules.append(
                _Rule(
                    full_id=r.full_id,
                    status=r.status,
                    direction=r.direction,
                    max_scope=r.max_scope if r.max_scope is not None else st.max_scope,
                    sections=frozenset(r.sections) if r.sections is not None else None,
                    terminates=frozenset(r.terminates) if r.terminates is not None else frozenset(ASSERTION_STATUSES),
                    rank=rank,
                    condition=condition,
                )
            )
            if r.regex is not None:
                regex_parts.append((idx, r.regex, False))
            if as_regex:
                look = f"(?={r.followed_by})"
                if r.not_followed_by is not None:
                    look += f"(?!{r.not_followed_by})"
                # The word-start check is done in Python: a leading look-behind would defeat re's first-character scan.
                regex_parts.append((idx, _trie_regex(_key(lit) for lit in r.literals) + r"(?!\w)" + look, True))
                continue
            for lit in r.literals:
                literal_map.setdefault(_key(lit), []).append(idx)
        self._literal_map = {k: tuple(v) for k, v in literal_map.items()}
        # Matching runs on lower-cased text without IGNORECASE (much faster in ``re``); texts whose lower-casing
        # changes their length fall back to the case-insensitive twins on the original text.
        trie = r"(?<!\w)" + _trie_regex(literal_map) + r"(?!\w)"
        self._literal_re = (re.compile(trie), re.compile(trie, re.IGNORECASE))
        # One pass per regex rule: each starts with a literal character, so ``re`` scans for it at C speed,
        # which beats one alternation that tries every branch at every position.
        self._regexes = [
            (idx, re.compile(rx, re.MULTILINE), re.compile(rx, re.MULTILINE | re.IGNORECASE), word_start)
            for idx, rx, word_start in regex_parts
        ]

    # ------------------------------------------------------------------ cue finding
    def find_cues(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, int]]:
        """All non-pseudo cues in ``text[start:end]`` as ``(start, end, rule_index)``, sorted by start."""
        hi = len(text) if end is None else end
        low = text.lower()
        folded = len(low) == len(text)
        k = 0 if folded else 1
        if not folded:
            low = text
        cands: list[tuple[int, int, int]] = []
        lit_map = self._literal_map
        rules = self._rules
        search = self._literal_re[k].search
        pos = start
        while True:
            m = search(low, pos, hi)
            if m is None:
                break
            cs, ce = m.span()
            g = m.group()
            idxs = lit_map.get(g) or lit_map.get(_key(g)) or ()
            taken = False
            for idx in idxs:
                cond = rules[idx].condition
                ns = cs if cond is None else cond.check(low, cs, ce, folded)
                if ns >= 0:
                    cands.append((ns, ce, idx))
                    taken = True
                    break
            # A match whose conditions all fail must not hide a cue starting inside it ("the patient denies").
            pos = ce if taken else cs + 1
        for idx, rx_low, rx_any, word_start in self._regexes:
            cond = rules[idx].condition
            for m in (rx_low if folded else rx_any).finditer(low, start, hi):
                if word_start and m.start() > 0 and (low[m.start() - 1].isalnum() or low[m.start() - 1] == "_"):
                    continue
                if m.end() > m.start():
                    cs = m.start() if cond is None else cond.check(low, m.start(), m.end(), folded)
                    if cs >= 0:
                        cands.append((cs, m.end(), idx))
        cands.sort(key=lambda c: (c[0], c[0] - c[1], rules[c[2]].rank))
        out: list[tuple[int, int, int]] = []
        last_end = -1
        for c in cands:
            if c[0] >= last_end:
                last_end = c[1]
                if rules[c[2]].direction != "pseudo":
                    out.append(c)
        return out

    def rule_id(self, index: int) -> str:
        """Versioned id of the rule at ``index`` (as returned by :meth:`find_cues`)."""
        return self._rules[index].full_id

    # ------------------------------------------------------------------ scope
    def _in_window(self, text: str, a: int, b: int, max_scope: int, forward: bool) -> bool:
        words = _WORD.findall(text, a, b)
        n = sum(1 for w in words if w.lower() not in _CONNECTORS)
        if n <= max_scope:
            return True
        items = _LIST_SEP.split(text[a:b])
        if len(items) < 2 or len(items) > self._max_list_items:
            return False
        counts = [len(_WORD.findall(item)) for item in items]
        near, rest = (counts[0], counts[1:]) if forward else (counts[-1], counts[:-1])
        return near <= max_scope and all(c <= self._list_item_max for c in rest)

    def _blocked(self, cues: Sequence[tuple[int, int, int]], lo: int, hi: int, status: str) -> bool:
        cross: frozenset[str] = self._cross.get(status, frozenset())
        for k in range(lo, hi):
            rule = self._rules[cues[k][2]]
            if rule.direction == "terminate":
                if status in rule.terminates:
                    return True
            elif rule.status in cross:
                return True
        return False

    def _resolve(
        self,
        text: str,
        cues: Sequence[tuple[int, int, int]],
        starts: Sequence[int],
        ts: int,
        te: int,
        sentence: tuple[int, int],
        section: Section | str | None,
    ) -> Assertion:
        ss, se = sentence
        ss, se = min(ss, ts), max(se, te)
        sec_name = section.name if isinstance(section, Section) else section
        # Cues inside the section header itself ("FAMILY HISTORY:", "SHX/FHX:") are ignored: the header's meaning
        # is carried by the section statuses.
        hdr_s, hdr_e = (section.header_start, section.header_end) if isinstance(section, Section) else (0, 0)
        found: dict[str, bool] = {}
        applied: list[Cue] = []
        i0 = bisect.bisect_left(starts, ss)
        i1 = bisect.bisect_left(starts, se)
        t_first = bisect.bisect_left(starts, ts)
        t_after = bisect.bisect_left(starts, te)
        for k in range(i0, i1):
            cs, ce, ri = cues[k]
            rule = self._rules[ri]
            status = rule.status
            if status is None or ce > se or (cs < hdr_e and ce > hdr_s):
                continue
            if rule.sections is not None and sec_name not in rule.sections:
                continue
            if ce <= ts:
                if rule.direction not in _FORWARD or self._blocked(cues, k + 1, t_first, status):
                    continue
                if not self._in_window(text, ce, ts, rule.max_scope, True):
                    continue
            elif cs >= te:
                if rule.direction not in _BACKWARD or self._blocked(cues, t_after, k, status):
                    continue
                if not self._in_window(text, te, cs, rule.max_scope, False):
                    continue
            found[status] = True
            applied.append(Cue(status=status, start=cs, end=ce, text=text[cs:ce], rule=rule.full_id))
        if sec_name is not None and sec_name in self._section_status:
            status = self._section_status[sec_name]
            found[status] = True
            if isinstance(section, Section) and section.header_end > section.header_start:
                hs, he = section.header_start, section.header_end
                applied.append(
                    Cue(
                        status=status, start=hs, end=he, text=text[hs:he], rule=f"medlens.context.section.{sec_name}.v1"
                    )
                )
        if not found:
            return _AFFIRMED
        applied.sort(key=lambda c: (c.start, c.end))
        return Assertion(
            negated=found.get("negated", False),
            uncertain=found.get("uncertain", False),
            historical=found.get("historical", False),
            hypothetical=found.get("hypothetical", False),
            family=found.get("family", False),
            cues=tuple(applied),
        )

    # ------------------------------------------------------------------ public API
    def assert_target(
        self,
        text: str,
        start: int,
        end: int,
        *,
        sentence: tuple[int, int] | None = None,
        section: Section | str | None = None,
    ) -> Assertion:
        """Assertion of the target ``text[start:end]`` within ``sentence`` and ``section``.

        Args:
            text: the whole text; offsets index it.
            start: target start offset.
            end: target end offset (exclusive).
            sentence: ``(start, end)`` of the target's sentence; when omitted the text is analysed to find it
                (and the section too, unless ``section`` is given).
            section: the target's :class:`Section`, or just its canonical name (then a section status is set
                without a header cue), or ``None`` for no section statuses.

        Returns:
            The five statuses and the cues that set them (absolute offsets).
        """
        if sentence is None:
            analysis = analyze(text)
            sentence = analysis.sentence_at(start)
            if section is None:
                section = analysis.section_at(start)
        lo, hi = min(sentence[0], start), max(sentence[1], end)
        cues = self.find_cues(text, lo, hi)
        return self._resolve(text, cues, [c[0] for c in cues], start, end, sentence, section)

    def assert_targets(
        self, text: str, targets: Sequence[tuple[int, int]], *, analysis: TextAnalysis | None = None
    ) -> list[Assertion]:
        """Assertions of many targets in one text: cues are found once, sentences and sections looked up.

        Args:
            text: the whole text.
            targets: ``(start, end)`` of each target.
            analysis: ``analyze(text)`` if already computed (it is computed otherwise).

        Returns:
            One :class:`Assertion` per target, in order.
        """
        if not targets:
            return []
        if analysis is None:
            analysis = analyze(text)
        # Several extractors assert targets of the same note in turn: find its cues once (identity, not equality,
        # so the check costs nothing and a different text can never reuse stale cues).
        if self._last_text is text:
            cues = self._last_cues
        else:
            cues = self.find_cues(text)
            self._last_text, self._last_cues = text, cues
        starts = [c[0] for c in cues]
        return [
            self._resolve(text, cues, starts, s, e, analysis.sentence_at(s), analysis.section_at(s)) for s, e in targets
        ]
