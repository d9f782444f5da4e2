"""Deterministic guideline engines: RECIST 1.1, Fleischner 2017, Lung-RADS v2022, BI-RADS (5th edition), AJCC 8th.

Each engine is a pure function over typed inputs; its table lives in ``lexicon/`` as data with the source cited.
Results are frozen pydantic models carrying the rule (table row id) that fired, the citation and the reasons.
These are decision support for review by a qualified reader, not for diagnostic use on their own; where an input or
a table cell is not covered the result says so explicitly ("insufficient" / NE) instead of guessing.
"""

from __future__ import annotations

from medlens.guidelines.ajcc import StageResult, TFromSize, stage, t_from_size
from medlens.guidelines.birads import BiradsMention, BiradsResult, RecommendationMention, birads_assessment
from medlens.guidelines.fleischner import FleischnerInput, FleischnerResult, fleischner_recommendation
from medlens.guidelines.lung_rads import (
    LungRadsExam,
    LungRadsNodule,
    LungRadsNoduleResult,
    LungRadsResult,
    lung_rads_category,
)
from medlens.guidelines.recist import (
    RecistBaseline,
    RecistFollowUp,
    RecistTimepointResult,
    TargetLesion,
    recist_response,
    recist_timepoint_response,
)
from medlens.guidelines.schema import Citation

__all__ = [
    "BiradsMention",
    "BiradsResult",
    "Citation",
    "FleischnerInput",
    "FleischnerResult",
    "LungRadsExam",
    "LungRadsNodule",
    "LungRadsNoduleResult",
    "LungRadsResult",
    "RecistBaseline",
    "RecistFollowUp",
    "RecistTimepointResult",
    "RecommendationMention",
    "StageResult",
    "TFromSize",
    "TargetLesion",
    "birads_assessment",
    "fleischner_recommendation",
    "lung_rads_category",
    "recist_response",
    "recist_timepoint_response",
    "stage",
    "t_from_size",
]
