"""radiology.findings rules backend: lesions with sizes, location, composition, change and evidence; measurements;
the Lung-RADS input helper; evidence invariants for arbitrary text."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from medlens.core.errors import ConfigError
from medlens.core.types import Document, RecordResult
from medlens.guidelines.lung_rads import LungRadsExam, lung_rads_category
from medlens.radiology.findings import (
    FindingsLexicon,
    RadiologyFindingsRules,
    load_findings_lexicon,
    mean_diameter,
)
from medlens.radiology.findings_lung_rads import lung_rads_input
from medlens.radiology.findings_schema import Lesion, RadiologyFindingsResult

RULES = RadiologyFindingsRules()


def lesions_of(text: str, rules: RadiologyFindingsRules = RULES) -> list[Lesion]:
    return rules.extract(text, "r1")[0]


def only_lesion(text: str) -> Lesion:
    found = lesions_of(text)
    assert len(found) == 1, [lesion.text for lesion in found]
    return found[0]


# ---------------------------------------------------------------------------------------------- attribute table
# text, kind, sizes (mm), mean diameter (mm), lobe, laterality, composition, change, negated
LESION_TABLE = [
    ("A 6 mm solid nodule in the right upper lobe.", "nodule", (6.0,), 6.0, "RUL", "right", ("solid",), None, False),
    (
        "8 x 6 mm part-solid nodule with 3 mm solid component, RLL.",
        "nodule",
        (8.0, 6.0),
        7.0,
        "RLL",
        "right",
        ("part_solid",),
        None,
        False,
    ),
    (
        "1.2 x 0.9 cm mass in the left lower lobe, previously 0.8 cm on 01/02/2023.",
        "mass",
        (12.0, 9.0),
        10.5,
        "LLL",
        "left",
        (),
        "increased",
        False,
    ),
    ("Stable 4 mm calcified granuloma.", "granuloma", (4.0,), 4.0, None, None, ("calcified",), "stable", False),
    (
        "Multiple bilateral ground-glass nodules, largest 7 mm.",
        "nodule",
        (7.0,),
        7.0,
        None,
        "bilateral",
        ("ground_glass",),
        None,
        False,
    ),
    ("No suspicious pulmonary nodules.", "nodule", (), None, None, None, (), None, True),
    ("New 5 mm nodule.", "nodule", (5.0,), 5.0, None, None, (), "new", False),
    ("A 6 MM SOLID NODULE IN THE RIGHT UPPER LOBE.", "nodule", (6.0,), 6.0, "RUL", "right", ("solid",), None, False),
    ("8x6mm nodule in the lingula.", "nodule", (8.0, 6.0), 7.0, "lingula", "left", (), None, False),
    (
        "Spiculated 2.1 x 1.8 x 1.5 cm mass in the LUL.",
        "mass",
        (21.0, 18.0, 15.0),
        19.5,
        "LUL",
        "left",
        (),
        None,
        False,
    ),
    (
        "Right middle lobe nodule measuring 1.25 cm, unchanged.",
        "nodule",
        (12.5,),
        12.5,
        "RML",
        "right",
        (),
        "stable",
        False,
    ),
    ("1 cm nodule that is not calcified.", "nodule", (10.0,), 10.0, None, None, ("noncalcified",), None, False),
    # ConText reads "has resolved" as a negation: the lesion is no longer there.
    ("The previously seen RUL nodule has resolved.", "nodule", (), None, "RUL", "right", (), "resolved", True),
]


@pytest.mark.parametrize(
    ("text", "kind", "sizes", "mean", "lobe", "laterality", "composition", "change", "negated"), LESION_TABLE
)
def test_lesion_attributes_table(
    text: str,
    kind: str,
    sizes: tuple[float, ...],
    mean: float | None,
    lobe: str | None,
    laterality: str | None,
    composition: tuple[str, ...],
    change: str | None,
    negated: bool,
) -> None:
    lesion = only_lesion(text)
    assert lesion.kind == kind
    assert tuple(d.value_mm for d in lesion.sizes) == sizes
    assert lesion.mean_diameter_mm == mean
    assert (lesion.location.lobe if lesion.location else None) == lobe
    assert (lesion.location.laterality if lesion.location else None) == laterality
    assert tuple(c.value for c in lesion.composition) == composition
    assert (lesion.change.value if lesion.change else None) == change
    assert lesion.assertion.negated is negated


# ---------------------------------------------------------------------------------------------- evidence offsets
# text, attribute path, expected (start, end) spans of its evidence
EVIDENCE_TABLE = [
    ("A 6 mm solid nodule in the right upper lobe.", "head", [(13, 19), (2, 43)]),
    ("A 6 mm solid nodule in the right upper lobe.", "sizes", [(2, 6)]),
    ("A 6 mm solid nodule in the right upper lobe.", "location", [(27, 43)]),
    ("A 6 mm solid nodule in the right upper lobe.", "composition", [(7, 12)]),
    ("8 x 6 mm part-solid nodule with 3 mm solid component, RLL.", "sizes", [(0, 1), (4, 8)]),
    ("8 x 6 mm part-solid nodule with 3 mm solid component, RLL.", "solid_component", [(32, 36)]),
    ("8 x 6 mm part-solid nodule with 3 mm solid component, RLL.", "location", [(54, 57)]),
    ("1.2 x 0.9 cm mass in the left lower lobe, previously 0.8 cm on 01/02/2023.", "change", [(53, 59), (63, 73)]),
    ("Stable 4 mm calcified granuloma.", "change", [(0, 6)]),
    ("Multiple bilateral ground-glass nodules, largest 7 mm.", "head", [(32, 39), (0, 53)]),
    ("No suspicious pulmonary nodules.", "head", [(24, 31), (14, 31)]),
    ("A 6 MM SOLID NODULE IN THE RIGHT UPPER LOBE.", "location", [(27, 43)]),
]


def _spans(lesion: Lesion, path: str) -> list[tuple[int, int]]:
    if path == "head":
        evidence = list(lesion.evidence)
    elif path == "sizes":
        evidence = [d.evidence[0] for d in lesion.sizes]
    elif path == "composition":
        evidence = [e for c in lesion.composition for e in c.evidence]
    else:
        claim = getattr(lesion, path)
        assert claim is not None
        evidence = list(claim.evidence)
    return [(e.start, e.end) for e in evidence]


@pytest.mark.parametrize(("text", "path", "spans"), EVIDENCE_TABLE)
def test_evidence_offsets_table(text: str, path: str, spans: list[tuple[int, int]]) -> None:
    assert _spans(only_lesion(text), path) == spans


def test_prior_size_and_date_are_read_after_a_prior_cue() -> None:
    change = only_lesion("1.2 x 0.9 cm mass in the left lower lobe, previously 0.8 cm on 01/02/2023.").change
    assert change is not None
    assert [d.value_mm for d in change.prior_sizes] == [8.0]
    assert change.prior_mean_diameter_mm == 8.0
    assert (change.prior_date, change.prior_date_text) == ("2023-01-02", "01/02/2023")


def test_size_after_from_is_prior_and_after_to_is_current() -> None:
    lesion = only_lesion("Left upper lobe nodule increased from 6 mm to 9 mm since 3/4/2022.")
    assert [d.value_mm for d in lesion.sizes] == [9.0]
    assert lesion.change is not None
    assert lesion.change.value == "increased"
    assert [d.value_mm for d in lesion.change.prior_sizes] == [6.0]
    assert lesion.change.prior_date == "2022-03-04"


def test_solid_component_is_not_the_lesion_size() -> None:
    lesion = only_lesion("8 x 6 mm part-solid nodule with 3 mm solid component, RLL.")
    assert lesion.solid_component is not None
    assert lesion.solid_component.value_mm == 3.0
    assert [d.value_mm for d in lesion.sizes] == [8.0, 6.0]


def test_solid_component_written_before_its_size() -> None:
    lesion = only_lesion("Part-solid nodule in the RUL measuring 12 mm with a solid component of 4 mm.")
    assert [d.value_mm for d in lesion.sizes] == [12.0]
    assert lesion.solid_component is not None
    assert lesion.solid_component.value_mm == 4.0


def test_largest_of_several_is_marked() -> None:
    lesion = only_lesion("Multiple bilateral ground-glass nodules, largest 7 mm.")
    assert lesion.multiple
    assert lesion.size_of == "largest"


@pytest.mark.parametrize(
    ("text", "count", "multiple"),
    [
        ("Two nodules in the right lung.", 2, True),
        ("3 small nodules in the left lung.", 3, True),
        ("Solitary nodule in the RUL.", 1, False),
        ("Several masses in the liver.", None, True),
        ("A nodule in the RUL.", None, False),
    ],
)
def test_count_words_and_plurals(text: str, count: int | None, multiple: bool) -> None:
    lesion = only_lesion(text)
    assert (lesion.count, lesion.multiple) == (count, multiple)


def test_two_lesions_in_one_sentence_keep_their_own_attributes() -> None:
    first, second = lesions_of("A 6 mm nodule in the RUL and a 4 mm nodule in the LLL.")
    assert ([d.value_mm for d in first.sizes], first.location and first.location.lobe) == ([6.0], "RUL")
    assert ([d.value_mm for d in second.sizes], second.location and second.location.lobe) == ([4.0], "LLL")


def test_coordinated_lesions_share_the_change_after_them() -> None:
    nodules, masses = lesions_of("The pulmonary nodules and masses seen on the prior exam are smaller.")
    assert nodules.change is not None
    assert nodules.change.value == "decreased"
    assert masses.change is not None
    assert masses.change.value == "decreased"


def test_coordinated_lesions_share_the_location_before_them() -> None:
    masses, nodules = lesions_of("Multiple bilateral pulmonary masses and nodules.")
    assert masses.location == nodules.location
    assert nodules.location is not None
    assert (nodules.location.laterality, nodules.location.organ) == ("bilateral", "lung")


def test_organ_and_segment_are_read() -> None:
    lesion = only_lesion("Nodule in the superior segment of the right lower lobe.")
    assert lesion.location is not None
    assert (lesion.location.lobe, lesion.location.segment, lesion.location.organ) == ("RLL", "superior", "lung")
    liver = only_lesion("2 cm cyst in the liver.")
    assert liver.location is not None
    assert liver.location.organ == "liver"
    assert liver.kind == "cyst"


def test_margins_are_read() -> None:
    lesion = only_lesion("Spiculated 2.1 cm mass in the LUL.")
    assert [m.value for m in lesion.margins] == ["spiculated"]


def test_no_new_nodule_is_negated() -> None:
    lesion = only_lesion("No new pulmonary nodules.")
    assert lesion.assertion.negated


def test_possible_nodule_is_uncertain() -> None:
    lesion = only_lesion("Possible 4 mm nodule in the left lower lobe.")
    assert lesion.assertion.uncertain
    assert not lesion.assertion.negated


def test_keep_negated_false_drops_negated_lesions() -> None:
    rules = RadiologyFindingsRules(keep_negated=False)
    assert lesions_of("No suspicious pulmonary nodules. New 5 mm nodule.", rules)[0].text == "nodule"
    assert len(lesions_of("No suspicious pulmonary nodules. New 5 mm nodule.", rules)) == 1


# ---------------------------------------------------------------------------------------------- sections
def test_indication_produces_no_lesion() -> None:
    text = "INDICATION: Follow-up of 6 mm nodule.\nFINDINGS: The lungs are clear.\nIMPRESSION: No acute disease."
    assert RULES.extract(text, "r1") == ([], [])


def test_lesion_records_its_report_section() -> None:
    text = "FINDINGS: 5 mm nodule in the RUL.\nIMPRESSION: Stable RUL nodule."
    findings, impression = lesions_of(text)
    assert (findings.section, impression.section) == ("findings", "impression")


def test_unknown_section_role_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        RadiologyFindingsRules(sections=["findings", "appendix"])
    assert err.value.code == "ML201"


# ---------------------------------------------------------------------------------------------- measurements
@pytest.mark.parametrize(
    ("text", "structure", "sizes"),
    [
        ("The ascending aorta measures 4.2 cm.", "ascending aorta", (42.0,)),
        ("The right lobe of the thyroid measures 5.1 x 2.0 x 1.9 cm.", "right lobe of the thyroid", (51.0, 20.0, 19.0)),
        ("Spleen is 13 cm in length.", "Spleen", (130.0,)),
        ("Persistent 8mm pneumothorax on the right.", "pneumothorax", (8.0,)),
        ("Tracheostomy tube tip 4 cm above the carina.", "Tracheostomy tube tip", (40.0,)),
    ],
)
def test_other_measurements(text: str, structure: str, sizes: tuple[float, ...]) -> None:
    lesions, measurements = RULES.extract(text, "r1")
    assert lesions == []
    assert [(m.structure, tuple(d.value_mm for d in m.sizes)) for m in measurements] == [(structure, sizes)]
    ev = measurements[0].evidence[0]
    assert text[ev.start : ev.end] == structure


def test_scan_parameters_are_not_measurements() -> None:
    assert RULES.extract("Axial images were obtained at 1.25 mm slices.", "r1") == ([], [])


def test_a_lesion_size_is_not_also_a_measurement() -> None:
    assert RULES.extract("A 6 mm solid nodule in the right upper lobe.", "r1")[1] == []


# ---------------------------------------------------------------------------------------------- mean diameter
@pytest.mark.parametrize(
    ("dims", "expected"),
    [
        ([6.0], (6.0, "single_dimension")),
        ([8.0, 6.0], (7.0, "mean_long_short_axis")),
        ([7.0, 6.0], (6.5, "mean_long_short_axis")),
        ([6.5, 6.0], (6.3, "mean_long_short_axis")),  # 6.25 rounds half up to one decimal
        ([15.0, 21.0, 18.0], (19.5, "mean_two_largest_of_three")),
        ([], None),
    ],
)
def test_mean_diameter(dims: list[float], expected: tuple[float, str] | None) -> None:
    assert mean_diameter(dims) == expected


# ---------------------------------------------------------------------------------------------- task and lexicon
def test_call_returns_one_result_per_document_that_serialises() -> None:
    docs = [Document(id="a", text="New 5 mm nodule.", kind="radiology"), Document(id="b", text="Normal.")]
    results = RULES(docs)
    assert [len(r.lesions) for r in results] == [1, 0]
    assert isinstance(results[0], RadiologyFindingsResult)
    assert results[0].name == "medlens.task.radiology.findings.v1"
    assert results[0].backend == "rules"
    line = RecordResult(id="a", kind="radiology", tasks={"radiology.findings": results[0]}).to_json()
    lesion = json.loads(line)["tasks"]["radiology.findings"]["lesions"][0]
    assert lesion["sizes"][0]["value_mm"] == 5.0
    assert lesion["evidence"][0]["record_id"] == "a"


def test_lexicon_rejects_unknown_keys() -> None:
    data = load_findings_lexicon().model_dump()
    data["colour"] = "red"
    with pytest.raises(ValidationError):
        FindingsLexicon.model_validate(data)


# ---------------------------------------------------------------------------------------------- Lung-RADS input
LUNG_RADS_TABLE = [
    # text, baseline, (type, status, mean, solid component, benign calcification) or None
    ("A 6 mm solid nodule in the right upper lobe.", True, ("solid", "baseline", 6.0, None, False)),
    ("8 x 6 mm part-solid nodule with 3 mm solid component, RLL.", True, ("part_solid", "baseline", 7.0, 3.0, False)),
    ("Multiple bilateral ground-glass nodules, largest 7 mm.", True, ("ground_glass", "baseline", 7.0, None, False)),
    ("Stable 4 mm calcified granuloma.", False, ("solid", "stable", 4.0, None, True)),
    ("New 5 mm solid nodule.", False, ("solid", "new", 5.0, None, False)),
    ("Solid RUL nodule increased from 6 mm to 9 mm.", False, ("solid", "growing", 9.0, None, False)),
    ("Solid RUL nodule increased from 6 mm to 7 mm.", False, None),  # growth not above 1.5 mm
    ("New 5 mm nodule.", False, None),  # composition not stated
    ("A 6 mm solid nodule in the right upper lobe.", False, None),  # follow-up without a stated change
    ("No suspicious solid pulmonary nodules.", True, None),
    ("Possible 6 mm solid nodule.", True, None),
    ("6 mm solid nodule in the thyroid.", True, None),
]


@pytest.mark.parametrize(("text", "baseline", "expected"), LUNG_RADS_TABLE)
def test_lung_rads_input_table(text: str, baseline: bool, expected: tuple[object, ...] | None) -> None:
    nodule = lung_rads_input(only_lesion(text), baseline=baseline)
    if expected is None:
        assert nodule is None
        return
    assert nodule is not None
    got = (
        nodule.nodule_type,
        nodule.status,
        nodule.mean_diameter_mm,
        nodule.solid_component_mm,
        nodule.benign_calcification,
    )
    assert got == expected


def test_lung_rads_input_feeds_the_guideline_engine() -> None:
    nodule = lung_rads_input(only_lesion("A 7 mm solid nodule in the right upper lobe."), baseline=True)
    assert nodule is not None
    assert lung_rads_category(LungRadsExam(baseline=True, nodules=(nodule,))).category == "3"


# ---------------------------------------------------------------------------------------------- invariants
FRAGMENTS = [
    "FINDINGS:",
    "IMPRESSION:",
    "INDICATION:",
    "TECHNIQUE:",
    "A 6 mm solid nodule",
    "in the right upper lobe",
    "8 x 6 mm part-solid nodule with 3 mm solid component",
    "1.2 x 0.9 cm mass",
    "previously 0.8 cm on 01/02/2023",
    "increased from 5 mm to 8 mm",
    "stable 4 mm calcified granuloma",
    "multiple bilateral ground-glass nodules, largest 7 mm",
    "No suspicious pulmonary nodules",
    "new 5 mm nodule",
    "NODULES AND MASSES",
    "The aorta measures 4.2 cm",
    "8x6x4mm",
    "x",
    "3.",
    ".5 cm",
    "and",
    ",",
    ";",
    "\n",
    "\u0130",
    "\ufb01",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=14))
def test_evidence_quotes_the_text_exactly(parts: list[str]) -> None:
    text = " ".join(parts)
    lesions, measurements = RULES.extract(text, "r1")
    claims: list[object] = []
    for lesion in lesions:
        claims += [lesion, *lesion.sizes, *lesion.composition, *lesion.margins]
        claims += [c for c in (lesion.location, lesion.change, lesion.solid_component) if c is not None]
        if lesion.change is not None:
            claims += list(lesion.change.prior_sizes)
        assert 1 <= len(lesion.sizes) <= 3 or not lesion.sizes
    for m in measurements:
        claims += [m, *m.sizes]
    for claim in claims:
        for ev in claim.evidence:  # type: ignore[attr-defined]
            ev.verify(text)
            assert ev.record_id == "r1"
    assert RULES.extract(text, "r1") == (lesions, measurements)
