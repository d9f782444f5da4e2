"""Result models of ``pathology.extract``: what the task returns and the JSON schema an LLM backend fills.

Every field is a :class:`~medlens.core.types.Claim` with evidence spans into the *original* report text. A field the
report does not state is ``None``, never guessed. Each field records the report section it was read from and, where
several sections disagreed, which one decided (``precedence``) and the value it overrode (``overridden_value``).
Section precedence: addendum > final diagnosis > synoptic summary > microscopic / comment > other > gross >
clinical history (a clinical-history "T2" is the clinician's, not the pathologist's, stage).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import Claim, TaskResult

__all__ = [
    "CancerType",
    "Grade",
    "Her2",
    "HistologicType",
    "InvasionStatus",
    "Ki67",
    "LymphNodeGroup",
    "LymphNodes",
    "Margins",
    "MismatchRepair",
    "MmrProtein",
    "PathClaim",
    "PathologyExtractResult",
    "PathologyFields",
    "PathologySection",
    "Precedence",
    "Receptor",
    "Specimen",
    "StatedStage",
    "TNMCategory",
    "TNMPrefix",
    "TumourSize",
    "VascularInvasion",
]

PathologySection = Literal[
    "addendum", "final_diagnosis", "synoptic", "microscopic", "comment", "gross", "clinical", "other", "body"
]
InvasionStatus = Literal["present", "absent", "indeterminate"]
TNMPrefix = Literal["p", "yp", "c", "yc", "r", "rp", "a", "m"]
Precedence = Literal["addendum", "final_diagnosis", "synoptic", "microscopic", "comment"]


class PathClaim(Claim):
    """A claim read from one section of a pathology report, with section precedence recorded."""

    section: PathologySection | None = Field(default=None, description="Report section the value was read from.")
    precedence: Precedence | None = Field(
        default=None,
        description="Set when sections stated different values: the section that decided (e.g. 'addendum' when an "
        "addendum overrides the body, 'final_diagnosis' when it overrides the gross description).",
    )
    overridden_value: str | None = Field(
        default=None, description="With precedence: the value stated by the overridden section (its evidence is kept)."
    )


class Specimen(Claim):
    """One specimen / part of the report (``A.``, ``Part 1:``) with the organ, laterality and procedure stated."""

    label: str | None = Field(default=None, description="Part label as written, e.g. 'A' or '1'.")
    site: str | None = Field(
        default=None, description="Organ or site, lower case, e.g. 'breast', 'sentinel lymph node'."
    )
    laterality: Literal["left", "right", "bilateral"] | None = Field(default=None, description="Side where stated.")
    procedure: str | None = Field(default=None, description="Procedure where stated, e.g. 'mastectomy', 'biopsy'.")


class CancerType(Claim):
    """Cancer type inferred from organ and histology words, as one of the 32 TCGA study abbreviations."""

    tcga_code: str = Field(description="TCGA study abbreviation, e.g. 'BRCA', 'LUAD'.")
    name: str = Field(description="TCGA study name, e.g. 'Breast invasive carcinoma'.")
    icdo3_topography: str | None = Field(
        default=None, description="ICD-O-3 topography code of the site where one code fits the study, e.g. 'C50.9'."
    )
    score: float = Field(ge=0.0, le=1.0, description="Share of the evidence weight that went to this study.")


class HistologicType(PathClaim):
    """Histologic type as written (normalised to lower case), e.g. 'infiltrating ductal carcinoma'."""

    value: str = Field(description="Histologic type, lower case, whitespace collapsed.")


class Grade(PathClaim):
    """Histologic grade with its grading system where recognisable."""

    value: str = Field(description="Grade as normalised, e.g. 'G2', '3+4=7', '6/9', 'II', 'high'.")
    system: Literal["g", "nottingham", "gleason", "who", "fuhrman", "isup", "figo", "nuclear", "tier"] | None = Field(
        default=None, description="Grading system: G1-G4, Nottingham score, Gleason, WHO, Fuhrman, ISUP, FIGO..."
    )


class TumourSize(PathClaim):
    """Tumour size; all dimensions converted to millimetres."""

    largest_mm: float = Field(gt=0, description="Largest dimension in mm.")
    dimensions_mm: tuple[float, ...] = Field(description="All stated dimensions in mm, as written (largest first).")


class TNMCategory(PathClaim):
    """One TNM category (T, N or M) as stated, with its prefix and sub-category."""

    value: str = Field(description="As normalised, prefix included, e.g. 'pT2a', 'ypN1mi', 'pN0(i+)', 'pM1b'.")
    prefix: TNMPrefix | None = Field(default=None, description="Prefix: p, yp, c, yc, r, rp, a or m (multiple).")
    category: str = Field(description="Main category without prefix: T0-T4, Tis, TX, N0-N3, NX, M0, M1, MX.")
    subcategory: str = Field(description="Full category without prefix, e.g. 'T2a', 'N1mi', 'N0(i+)', 'M1b'.")
    multiple: bool = Field(default=False, description="Multiple primary tumours suffix '(m)' on T.")


class StatedStage(PathClaim):
    """An AJCC stage group stated in the report (not computed: staging belongs to ``pathology.stage``)."""

    value: str = Field(description="Stage group as stated, e.g. 'IIA', '0', 'IVB'.")
    group: str = Field(description="Main group: 0, I, II, III or IV.")


class Margins(PathClaim):
    """Surgical margin status and the closest margin."""

    status: Literal["involved", "uninvolved"] | None = Field(default=None, description="Involved or uninvolved.")
    closest_distance_mm: float | None = Field(default=None, ge=0, description="Distance to the closest margin (mm).")
    closest_margin: str | None = Field(default=None, description="Name of the closest margin, e.g. 'deep'.")


class VascularInvasion(PathClaim):
    """Lymphovascular or perineural invasion status."""

    status: InvasionStatus = Field(description="present, absent or indeterminate.")


class LymphNodeGroup(Claim):
    """Node counts for one stated group (specimen part or station)."""

    group: str | None = Field(default=None, description="Group name as written, lower case, e.g. 'left axillary'.")
    involved: int = Field(ge=0, description="Nodes with tumour.")
    examined: int = Field(ge=0, description="Nodes examined.")


class LymphNodes(PathClaim):
    """Regional lymph node counts: the stated totals, else the sum over groups."""

    involved: int | None = Field(default=None, ge=0, description="Total nodes with tumour.")
    examined: int | None = Field(default=None, ge=0, description="Total nodes examined.")
    groups: tuple[LymphNodeGroup, ...] = Field(default=(), description="Per-group counts where stated.")


class Receptor(PathClaim):
    """Estrogen or progesterone receptor result."""

    status: Literal["positive", "negative", "low_positive"] | None = Field(default=None, description="Result.")
    percent: float | None = Field(default=None, ge=0, le=100, description="Percent of tumour nuclei staining.")
    intensity: Literal["weak", "moderate", "strong"] | None = Field(default=None, description="Staining intensity.")
    allred: int | None = Field(default=None, ge=0, le=8, description="Allred score (0-8) where stated.")


class Her2(PathClaim):
    """HER2 result by IHC and/or ISH."""

    ihc: Literal["0", "1+", "2+", "3+"] | None = Field(default=None, description="IHC score.")
    ish: Literal["amplified", "not_amplified", "equivocal"] | None = Field(default=None, description="ISH result.")
    status: Literal["positive", "negative", "equivocal"] | None = Field(default=None, description="Overall, as stated.")


class Ki67(PathClaim):
    """Ki-67 (MIB-1) proliferation index."""

    percent: float = Field(ge=0, le=100, description="Percent of tumour nuclei (upper bound of a stated range).")


class MmrProtein(Claim):
    """Mismatch-repair protein expression by IHC."""

    protein: Literal["MLH1", "MSH2", "MSH6", "PMS2"] = Field(description="Protein.")
    status: Literal["intact", "lost"] = Field(description="Nuclear expression intact or lost.")


class MismatchRepair(PathClaim):
    """Mismatch-repair IHC and microsatellite instability results."""

    proteins: tuple[MmrProtein, ...] = Field(default=(), description="Per-protein IHC results.")
    msi: Literal["MSI-H", "MSI-L", "MSS"] | None = Field(default=None, description="MSI status by PCR/NGS.")


class PathologyFields(BaseModel):
    """Every field ``pathology.extract`` reads from one report; ``None`` / empty when not stated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specimens: tuple[Specimen, ...] = Field(default=(), description="Specimens / parts in report order.")
    cancer_type: CancerType | None = Field(default=None, description="TCGA study the report's tumour belongs to.")
    histologic_type: HistologicType | None = Field(default=None, description="Histologic type of the main tumour.")
    grade: Grade | None = Field(default=None, description="Histologic grade.")
    tumour_size: TumourSize | None = Field(default=None, description="Size of the (largest) tumour.")
    pT: TNMCategory | None = Field(default=None, description="Primary tumour category.")
    pN: TNMCategory | None = Field(default=None, description="Regional lymph node category.")
    pM: TNMCategory | None = Field(default=None, description="Distant metastasis category.")
    stated_stage: StatedStage | None = Field(default=None, description="AJCC stage group stated in the report.")
    margins: Margins | None = Field(default=None, description="Surgical margins.")
    lymphovascular_invasion: VascularInvasion | None = Field(default=None, description="Lymphovascular invasion.")
    perineural_invasion: VascularInvasion | None = Field(default=None, description="Perineural invasion.")
    lymph_nodes: LymphNodes | None = Field(default=None, description="Regional lymph node counts.")
    er: Receptor | None = Field(default=None, description="Estrogen receptor.")
    pr: Receptor | None = Field(default=None, description="Progesterone receptor.")
    her2: Her2 | None = Field(default=None, description="HER2.")
    ki67: Ki67 | None = Field(default=None, description="Ki-67 index.")
    mmr: MismatchRepair | None = Field(default=None, description="Mismatch repair / MSI.")


class PathologyExtractResult(TaskResult):
    """What ``pathology.extract`` returns for one report."""

    fields: PathologyFields = Field(description="The extracted fields.")
