"""Prompt resolver table and the structures lexicon."""

from __future__ import annotations

import csv

import pytest

from medlens.imaging.prompts import UNSUPPORTED_ANSWER, load_structures, resolve_prompt
from medlens.imaging.segment_hu import HU_STRUCTURES


@pytest.mark.parametrize(
    ("prompt", "structure", "matched"),
    [
        ("segment the lungs", "lungs", "lungs"),
        ("Lung", "lungs", "lung"),
        ("left lung", "lung_left", "left lung"),
        ("Segment the LEFT lung, please", "lung_left", "left lung"),
        ("right-lung", "lung_right", "right lung"),
        ("lung right", "lung_right", "lung right"),
        ("bone", "bone", "bone"),
        ("show the skeleton", "bone", "skeleton"),
        ("body outline", "body", "body outline"),
        ("body", "body", "body"),
        ("fat", "fat", "fat"),
        ("adipose tissue", "fat", "adipose tissue"),
        ("air", "air", "air"),
        ("soft tissue", "soft_tissue", "soft tissue"),
        ("metal", "metal", "metal"),
    ],
)
def test_prompt_resolves_to_structure(prompt: str, structure: str, matched: str) -> None:
    res = resolve_prompt(prompt)
    assert res.supported
    assert res.structure is not None
    assert res.structure.name == structure
    assert res.matched == matched
    assert res.engine == "hu"


@pytest.mark.parametrize("prompt", ["liver", "segment the spleen", "", "bonemarrow lesion", "airway tree"])
def test_unknown_prompt_is_unsupported_unless_a_model_is_configured(prompt: str) -> None:
    res = resolve_prompt(prompt)
    assert not res.supported
    assert res.structure is None
    assert res.answer == UNSUPPORTED_ANSWER


def test_prompt_naming_two_structures_is_not_one_structure() -> None:
    res = resolve_prompt("lungs and bone")
    assert not res.supported
    assert res.answer is not None
    assert "bone" in res.answer


@pytest.mark.parametrize(
    ("structure", "type_code", "modifier"),
    [
        ("lungs", "39607008", None),
        ("lung_left", "39607008", "7771000"),
        ("lung_right", "39607008", "24028007"),
        ("fat", "55603005", None),
    ],
)
def test_structure_codes_are_the_table_codes(structure: str, type_code: str, modifier: str | None) -> None:
    code = load_structures().structure(structure).code
    assert code is not None
    assert code.type.value == type_code
    assert (code.modifier.value if code.modifier else None) == modifier


@pytest.mark.parametrize("structure", ["body", "bone", "soft_tissue", "air", "metal"])
def test_structures_absent_from_the_table_have_no_code(structure: str) -> None:
    assert load_structures().structure(structure).code is None


def test_every_engine_structure_is_in_the_lexicon() -> None:
    names = {s.name for s in load_structures().structures}
    assert set(HU_STRUCTURES) == names


def test_every_threshold_names_a_source() -> None:
    for threshold in load_structures().thresholds.values():
        assert threshold.source.strip()


def test_codes_exist_in_the_cited_csv_vocabulary() -> None:
    # The SNOMED CT values of the table rows cited in structures.yaml, copied here so the test needs no shared data.
    rows = csv.reader(
        [
            "lung_vessels,SCT,123037004,Anatomical Structure,SCT,59820001,Blood vessel,,,,SCT,39607008,Lung",
            "lung_upper_lobe_left,SCT,123037004,Anatomical Structure,SCT,45653009,Upper lobe of lung,SCT,7771000,Left",
            "lung_upper_lobe_right,SCT,123037004,Anatomical Structure,SCT,45653009,Upper lobe of lung,"
            "SCT,24028007,Right",
            "torso_fat,SCT,85756007,Tissue,SCT,55603005,Fat,,,,SCT,22943007,Trunk",
        ]
    )
    vocabulary = set()
    for row in rows:
        vocabulary |= {(row[n], row[n + 1]) for n in range(2, len(row) - 1, 3) if row[n]}
    for s in load_structures().structures:
        if s.code is None:
            continue
        for concept in (s.code.category, s.code.type, s.code.modifier):
            if concept is not None:
                assert (concept.value, concept.meaning) in vocabulary
