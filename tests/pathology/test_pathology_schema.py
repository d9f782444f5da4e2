import pytest
from pydantic import ValidationError

from medlens.pathology.lexicon_models import load_cancer_types
from medlens.pathology.schema import PathologyExtractResult, PathologyFields, TNMCategory


def test_payload_json_schema_has_descriptions_for_every_field() -> None:
    schema = PathologyFields.model_json_schema()
    assert all("description" in prop for prop in schema["properties"].values())


def test_payload_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        PathologyFields.model_validate({"pT": None, "bogus": 1})


def test_supported_tnm_claim_needs_evidence() -> None:
    with pytest.raises(ValidationError):
        TNMCategory(value="pT2", prefix="p", category="T2", subcategory="T2")


def test_result_round_trips_through_json() -> None:
    result = PathologyExtractResult(name="medlens.task.pathology.extract.v1", backend="rules", fields=PathologyFields())
    assert PathologyExtractResult.model_validate_json(result.model_dump_json()) == result


def test_lexicon_has_all_32_tcga_studies() -> None:
    codes = {s.code for s in load_cancer_types().studies}
    assert len(codes) == 32
    assert {"BRCA", "LUAD", "LUSC", "COAD", "READ", "UVM", "DLBC", "PCPG"} <= codes
