"""The radiology.labels data files: packaged ones load and cite their source; bad ones fail with ML205/ML201."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from medlens.core.errors import ConfigError
from medlens.radiology.labels import RadiologyLabelsRules
from medlens.radiology.labels_lexicon import (
    LabelSet,
    load_label_set,
    load_label_set_file,
    load_radiology_context,
    load_section_roles,
)

LEXICON_FILES = ("chexpert.yaml", "radiology_sections.yaml", "radiology_context.yaml")


@pytest.mark.parametrize("name", LEXICON_FILES)
def test_packaged_lexicon_starts_with_source_and_licence(name: str) -> None:
    text = resources.files("medlens.radiology").joinpath("lexicon", name).read_text(encoding="utf-8")
    header = text[: text.index("\nversion:")]
    assert header.startswith("# ")
    assert "Source" in header or "source" in header.lower()
    assert "Apache-2.0" in text or "MIT" in text


def test_chexpert_label_set_has_the_14_observations_in_order() -> None:
    labels = load_label_set("chexpert").labels
    assert [lab.name for lab in labels] == [
        "No Finding",
        "Enlarged Cardiomediastinum",
        "Cardiomegaly",
        "Lung Lesion",
        "Lung Opacity",
        "Edema",
        "Consolidation",
        "Pneumonia",
        "Atelectasis",
        "Pneumothorax",
        "Pleural Effusion",
        "Pleural Other",
        "Fracture",
        "Support Devices",
    ]


def test_chexpert_hierarchy_is_data() -> None:
    parents = {lab.name: lab.parent for lab in load_label_set("chexpert").labels}
    for child in ("Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis"):
        assert parents[child] == "Lung Opacity"
    assert parents["Cardiomegaly"] == "Enlarged Cardiomediastinum"


def test_chexpert_cites_the_labeler_and_its_licence() -> None:
    lab = load_label_set("chexpert")
    assert "CheXpert" in lab.source
    assert "MIT" in lab.licence


def test_section_roles_and_context_cues_load() -> None:
    roles = load_section_roles()
    assert set(roles.labeling_roles) == {"findings", "impression", "body"}
    assert roles.roles["indications"] == "indication"
    assert len(load_radiology_context().rules) >= 5


def _minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "labelset": "ct_abdomen",
        "source": "site curation",
        "licence": "Apache-2.0",
        "qualifiers": [{"id": "size", "positive": ["enlarged"], "negative": ["normal in size"]}],
        "labels": [
            {"name": "No Finding", "id": "no_finding", "rule": "no_finding"},
            {
                "name": "Hepatomegaly",
                "id": "hepatomegaly",
                "mentions": [
                    {"id": "hepatomegaly", "phrases": ["hepatomegaly"]},
                    {"id": "liver", "phrases": ["liver"], "qualifiers": "size"},
                ],
            },
            {"name": "Splenomegaly", "id": "splenomegaly", "mentions": [{"id": "spleen", "phrases": ["splenomegaly"]}]},
        ],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(colour="red"),
        lambda d: d["labels"][1].update(parent="Pancreas"),
        lambda d: d["labels"][1].update(parent="Splenomegaly") or d["labels"][2].update(parent="Hepatomegaly"),
        lambda d: d["labels"][1]["mentions"][1].update(qualifiers="shape"),
        lambda d: d["labels"][1]["mentions"][0].update(explained_by="mimic"),
        lambda d: d["labels"][1]["mentions"][0].update(
            implies=[{"label": "Gallstones", "statuses": {"positive": "uncertain"}}]
        ),
        lambda d: d["labels"][2].update(name="Hepatomegaly"),
        lambda d: d["labels"][1]["mentions"][0].update(phrases=["-hepatomegaly"]),
        lambda d: d["labels"][1]["mentions"][0].update(id="Hepato Megaly"),
        lambda d: d["labels"][1].update(mentions=[]),
        lambda d: d["qualifiers"][0].update(negative=["enlarged"]),
        lambda d: d["labels"][0].update(mentions=[{"id": "x", "phrases": ["normal"]}]),
        lambda d: d["labels"].append({"name": "Normal", "id": "normal", "rule": "no_finding"}),
    ],
    ids=[
        "unknown-key",
        "unknown-parent",
        "parent-cycle",
        "unknown-qualifier-set",
        "unknown-explained-by-set",
        "implies-unknown-label",
        "duplicate-name",
        "phrase-punctuation",
        "id-not-snake",
        "no-mentions",
        "qualifier-both-polarities",
        "no-finding-with-mentions",
        "two-no-finding-labels",
    ],
)
def test_invalid_label_set_is_rejected(mutate: Any) -> None:
    data = _minimal()
    LabelSet.model_validate(data)  # the unmodified set is valid
    mutate(data)
    with pytest.raises(ValidationError):
        LabelSet.model_validate(data)


def test_site_label_set_file_labels_ct_findings_without_code(tmp_path: Path) -> None:
    path = tmp_path / "ct_abdomen.yaml"
    path.write_text("# site CT label set\n" + yaml.safe_dump(_minimal()), encoding="utf-8")
    rules = RadiologyLabelsRules(labelset=str(path))
    labels = {lab.name: lab.status for lab in rules.label("FINDINGS: The liver is enlarged. No splenomegaly.", "ct1")}
    assert labels == {"No Finding": "negative", "Hepatomegaly": "positive", "Splenomegaly": "negative"}
    assert rules.labelset == "ct_abdomen"


def test_invalid_site_label_set_file_is_ml205(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_minimal(colour="red")), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_label_set_file(path)
    assert err.value.code == "ML205"


def test_missing_site_label_set_file_is_ml205(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_label_set_file(tmp_path / "absent.yaml")
    assert err.value.code == "ML205"


def test_label_set_name_that_is_not_snake_case_is_ml201() -> None:
    with pytest.raises(ConfigError) as err:
        load_label_set("../etc/passwd")
    assert err.value.code == "ML201"


def test_unknown_packaged_label_set_is_ml205() -> None:
    with pytest.raises(ConfigError) as err:
        RadiologyLabelsRules(labelset="no_such_set")
    assert err.value.code == "ML205"
