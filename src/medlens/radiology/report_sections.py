"""Radiology report sections: the text engine's sections, each given its role in a report.

:func:`medlens.text.sections.detect_sections` finds the headers (INDICATION, CLINICAL HISTORY, COMPARISON, TECHNIQUE,
FINDINGS, IMPRESSION, CONCLUSION and their variants) and names them canonically; ``lexicon/radiology_sections.yaml``
maps each canonical name to a :data:`~medlens.radiology.schema.ReportSectionRole`. Text before any header (or a
report without headers) is the ``body``, and so is the text after the first blank line of an indication,
comparison, technique or exam section (dictated reports run the findings on without a header). Sub-headers keep the
role of their section when that section produces labels (``FINDINGS: ... LUNGS: clear``); under any other section
an unlisted sub-header opens the report body, as in
``COMPARISON: none. PA AND LATERAL CHEST RADIOGRAPH: The lungs are clear.``
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from medlens.radiology.labels_lexicon import SectionRoles, load_section_roles
from medlens.radiology.schema import ReportSectionRole
from medlens.text.analysis import TextAnalysis
from medlens.text.sections import Section

__all__ = ["ReportSection", "ReportSections", "report_sections"]

_BLANK_LINE = re.compile(r"\n[ \t]*\r?\n\s*(?=\S)")
_HAS_WORD = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True, slots=True)
class ReportSection:
    """A section of a report with its role.

    Attributes:
        role: what the section is in a report (findings, impression, indication...).
        section: the text engine's section (canonical name, header and text offsets).
    """

    role: ReportSectionRole
    section: Section


@dataclass(frozen=True, slots=True)
class ReportSections:
    """The sections of one report, tiling its text, with offset look-up."""

    sections: tuple[ReportSection, ...]
    labeling_roles: frozenset[str]
    _starts: tuple[int, ...]

    def at(self, offset: int) -> ReportSection:
        """The section containing ``offset``."""
        i = bisect.bisect_right(self._starts, offset) - 1
        return self.sections[max(i, 0)]

    def labels_at(self, offset: int) -> bool:
        """Whether a mention at ``offset`` may produce a label (in findings, impression or body, not a header)."""
        rs = self.at(offset)
        sec = rs.section
        if sec.header_start <= offset < sec.header_end:
            return False
        return rs.role in self.labeling_roles


def _role(section: Section, parent_role: ReportSectionRole, roles: SectionRoles) -> ReportSectionRole:
    if section.subsection is None:
        return roles.roles.get(section.name, roles.default_role)
    listed = roles.subheaders.get(section.subsection)
    if listed is not None:
        return listed
    if parent_role in roles.labeling_roles:
        return parent_role
    return roles.unknown_subheader_role


def report_sections(analysis: TextAnalysis, *, roles: SectionRoles | None = None) -> ReportSections:
    """Give every section of ``analysis`` its report role.

    Args:
        analysis: ``medlens.text.analyze(text)`` of the report.
        roles: the mapping (default: the packaged ``radiology_sections.yaml``).

    Returns:
        The sections in order, tiling the text.
    """
    table = roles or load_section_roles()
    out: list[ReportSection] = []
    parent_role: ReportSectionRole = table.roles.get("unknown", "body")
    body: ReportSectionRole = table.roles.get("unknown", "body")
    text = analysis.text
    for sec in analysis.sections:
        role = _role(sec, parent_role, table)
        if sec.subsection is None:
            parent_role = role
        if role in table.paragraph_roles:
            blank = _BLANK_LINE.search(text, sec.header_end, sec.end)
            if blank is not None and _HAS_WORD.search(text, sec.header_end, blank.start()):
                split = blank.end()
                out.append(ReportSection(role, Section(sec.name, sec.header_start, sec.header_end, sec.start, split)))
                out.append(ReportSection(body, Section("unknown", split, split, split, sec.end)))
                continue
        out.append(ReportSection(role, sec))
    return ReportSections(tuple(out), frozenset(table.labeling_roles), tuple(s.section.start for s in out))
