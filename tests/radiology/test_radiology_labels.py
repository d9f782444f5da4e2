"""radiology.labels rules backend: statuses, evidence, impression precedence, pseudo-negations, No Finding."""

from __future__ import annotations

import json
import re

import pytest

from medlens.core.errors import ConfigError
from medlens.core.registry import Task
from medlens.core.types import Document, RecordResult
from medlens.radiology.labels import RadiologyLabelsRules
from medlens.radiology.schema import Label, RadiologyLabelsResult

RULES = RadiologyLabelsRules()
CHEXPERT = (
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
)


def label_of(text: str, name: str, rules: RadiologyLabelsRules = RULES) -> Label:
    return next(lab for lab in rules.label(text, "r1") if lab.name == name)


# ---------------------------------------------------------------------------------------------- status table
STATUS_TABLE = [
    ("FINDINGS: Small left pleural effusion.", "Pleural Effusion", "positive"),
    ("FINDINGS: No pleural effusion.", "Pleural Effusion", "negative"),
    ("FINDINGS: No pneumothorax or pleural effusion.", "Pneumothorax", "negative"),
    ("FINDINGS: No pneumothorax or pleural effusion.", "Pleural Effusion", "negative"),
    ("FINDINGS: No focal consolidation, pleural effusion, or pneumothorax.", "Pneumothorax", "negative"),
    ("FINDINGS: No focal consolidation, pleural effusion, or pneumothorax.", "Consolidation", "negative"),
    ("FINDINGS: Pleural effusions have resolved.", "Pleural Effusion", "negative"),
    ("FINDINGS: Right lower lobe consolidation.", "Consolidation", "positive"),
    ("FINDINGS: Bibasilar atelectasis.", "Atelectasis", "positive"),
    ("FINDINGS: Small right apical pneumothorax.", "Pneumothorax", "positive"),
    ("FINDINGS: Mild pulmonary edema.", "Edema", "positive"),
    ("FINDINGS: 8 mm nodule in the right upper lobe.", "Lung Lesion", "positive"),
    ("FINDINGS: Right apical pleural thickening.", "Pleural Other", "positive"),
    ("FINDINGS: Acute fracture of the left 6th rib.", "Fracture", "positive"),
    ("FINDINGS: Endotracheal tube terminates 4 cm above the carina.", "Support Devices", "positive"),
    ("FINDINGS: Left PICC line tip in the SVC.", "Support Devices", "positive"),
    ("FINDINGS: The endotracheal tube has been removed.", "Support Devices", "negative"),
    # radiology hedges -> uncertain
    ("IMPRESSION: Pneumonia cannot be excluded.", "Pneumonia", "uncertain"),
    ("IMPRESSION: Infection cannot be completely excluded.", "Pneumonia", "uncertain"),
    ("IMPRESSION: Opacity may represent atelectasis.", "Atelectasis", "uncertain"),
    ("IMPRESSION: Left basilar opacity, likely atelectasis.", "Atelectasis", "uncertain"),
    ("IMPRESSION: Left basilar opacity suggestive of pneumonia.", "Pneumonia", "uncertain"),
    ("IMPRESSION: Right lower lobe opacity concerning for pneumonia.", "Pneumonia", "uncertain"),
    ("IMPRESSION: Atelectasis versus pneumonia.", "Atelectasis", "uncertain"),
    ("IMPRESSION: Atelectasis versus pneumonia.", "Pneumonia", "uncertain"),
    ("IMPRESSION: Possible small left pleural effusion.", "Pleural Effusion", "uncertain"),
    ("IMPRESSION: Borderline cardiomegaly.", "Cardiomegaly", "uncertain"),
    ("IMPRESSION: Opacity may be due to early pneumonia.", "Pneumonia", "uncertain"),
    # negation scoped by the radiology cues
    ("FINDINGS: No focal consolidation to suggest pneumonia.", "Pneumonia", "negative"),
    ("FINDINGS: No focal consolidation to suggest pneumonia.", "Consolidation", "negative"),
    (
        "FINDINGS: No pneumothorax, although the sensitivity to detect a pneumothorax is reduced on a supine film.",
        "Pneumothorax",
        "negative",
    ),
    # CheXpert-style reading of the chest: vascular congestion and costophrenic blunting are uncertain at most
    ("FINDINGS: Mild pulmonary vascular congestion.", "Edema", "uncertain"),
    ("FINDINGS: Blunting of the left costophrenic angle.", "Pleural Effusion", "uncertain"),
    ("FINDINGS: The costophrenic angles are sharp.", "Pleural Effusion", "negative"),
    # unmentions: a phrase containing a mention that is not the label
    ("FINDINGS: Small pericardial effusion.", "Pleural Effusion", "not_mentioned"),
    ("FINDINGS: Calcified granuloma and calcified nodule in the right upper lobe.", "Lung Lesion", "not_mentioned"),
    ("FINDINGS: Compression fracture with vertebral body collapse at T12.", "Atelectasis", "not_mentioned"),
    ("FINDINGS: Old healed left rib fractures.", "Fracture", "positive"),
    ("FINDINGS: The osseous structures are intact.", "Fracture", "negative"),
    ("FINDINGS: Scarring in the right apex.", "Lung Opacity", "not_mentioned"),
    # "within normal limits" negates only the finding right before it
    ("FINDINGS: Pulmonary vascular engorgement within normal limits.", "Edema", "negative"),
    ("FINDINGS: Cardiomegaly, mediastinum within normal limits.", "Cardiomegaly", "positive"),
    # documented departures from the CheXpert labeler
    ("FINDINGS: No new consolidation.", "Consolidation", "negative"),
    ("FINDINGS: Atelectasis or scarring at the left base.", "Atelectasis", "positive"),
    # a nodular density explained, later in its clause, as a nipple shadow or bone island is not a lung lesion
    (
        "FINDINGS: Nodular densities over the posterior 9th ribs are consistent with nipple shadows.",
        "Lung Lesion",
        "not_mentioned",
    ),
    ("FINDINGS: 5 mm nodular density in the left lower lobe, likely a bone island.", "Lung Lesion", "not_mentioned"),
    ("FINDINGS: Nipple shadow on the left. 6 mm nodule in the right upper lobe.", "Lung Lesion", "positive"),
    ("FINDINGS: Nodular opacity in the right midlung, likely a granuloma.", "Lung Lesion", "positive"),
    # nonspecific interstitial markings are an other finding, not edema
    ("FINDINGS: Prominent interstitial markings in the bases.", "Edema", "not_mentioned"),
    ("FINDINGS: Prominent interstitial markings in the bases.", "No Finding", "negative"),
    ("FINDINGS: Bilateral interstitial prominence.", "Edema", "not_mentioned"),
    # pneumonitis reads as Pneumonia (MeSH entry term); interstitial pneumonitis is an other finding
    ("IMPRESSION: Left lower lobe infiltrate, consistent with pneumonitis.", "Pneumonia", "positive"),
    ("IMPRESSION: Findings may represent interstitial pneumonitis.", "Pneumonia", "not_mentioned"),
    # statements about what an exam can detect say nothing about this image
    ("IMPRESSION: Lungs are clear. CT is more sensitive in detecting small nodules.", "Lung Lesion", "not_mentioned"),
    ("FINDINGS: Bony overlap in the apices could obscure a small pulmonary nodule.", "Lung Lesion", "not_mentioned"),
]


@pytest.mark.parametrize(("text", "name", "expected"), STATUS_TABLE)
def test_status_table(text: str, name: str, expected: str) -> None:
    assert label_of(text, name).status == expected


# ---------------------------------------------------------------------------------------------- structure mentions
STRUCTURE_TABLE = [
    # heart size: "normal heart size" -> negative; "upper normal" -> negative (CheXpert "upper limits of normal")
    ("FINDINGS: Normal heart size.", "Cardiomegaly", "negative", "Normal heart size", 10),
    ("FINDINGS: The heart size is upper normal.", "Cardiomegaly", "negative", "The heart size is upper normal", 10),
    ("FINDINGS: Heart size is at the upper limits of normal.", "Cardiomegaly", "negative", None, None),
    ("FINDINGS: Top-normal heart size.", "Cardiomegaly", "negative", "Top-normal heart size", 10),
    ("FINDINGS: The heart is mildly enlarged.", "Cardiomegaly", "positive", "The heart is mildly enlarged", 10),
    ("FINDINGS: The heart is not enlarged.", "Cardiomegaly", "negative", "The heart is not enlarged", 10),
    ("FINDINGS: Heart size is borderline.", "Cardiomegaly", "uncertain", "Heart size is borderline", 10),
    ("FINDINGS: Heart size is normal to mildly enlarged.", "Cardiomegaly", "uncertain", None, None),
    ("FINDINGS: Stable cardiomegaly.", "Cardiomegaly", "positive", "cardiomegaly", 17),
    (
        "FINDINGS: The cardiomediastinal silhouette is within normal limits.",
        "Enlarged Cardiomediastinum",
        "negative",
        "cardiomediastinal silhouette is within normal limits",
        14,
    ),
    ("FINDINGS: The cardiomediastinal silhouette is within normal limits.", "Cardiomegaly", "negative", None, None),
    ("FINDINGS: The mediastinum is widened.", "Enlarged Cardiomediastinum", "positive", "mediastinum is widened", 14),
    # lungs: "the lungs are clear" -> Lung Opacity negative (medlens reading; CheXpert leaves it blank)
    ("FINDINGS: The lungs are clear.", "Lung Opacity", "negative", "The lungs are clear", 10),
    ("FINDINGS: The lungs are clear.", "Consolidation", "not_mentioned", None, None),
    ("FINDINGS: Lung parenchyma is not clear.", "Lung Opacity", "positive", None, None),
    # a structure without a qualifier says nothing (CheXpert would call "heart size is stable" uncertain)
    ("FINDINGS: Heart size is stable.", "Cardiomegaly", "not_mentioned", None, None),
    ("FINDINGS: The heart and lungs were imaged.", "Cardiomegaly", "not_mentioned", None, None),
]


@pytest.mark.parametrize(("text", "name", "expected", "quote", "start"), STRUCTURE_TABLE)
def test_structure_mentions_read_their_qualifier(
    text: str, name: str, expected: str, quote: str | None, start: int | None
) -> None:
    lab = label_of(text, name)
    assert lab.status == expected
    if quote is not None:
        assert (lab.evidence[0].quote, lab.evidence[0].start) == (quote, start)


def test_qualifier_is_the_deciding_cue() -> None:
    lab = label_of("FINDINGS: The heart size is upper normal.", "Cardiomegaly")
    assert lab.assertion is not None
    assert lab.assertion.negated
    cue = lab.assertion.cues[0]
    assert (cue.text, cue.start, cue.rule) == ("upper normal", 28, "medlens.rule.radiology.qualifier.size.negative.v1")


# ---------------------------------------------------------------------------------------------- pseudo-negations
PSEUDO_TABLE = [
    ("FINDINGS: No change in the small left pleural effusion.", "Pleural Effusion", "positive"),
    ("FINDINGS: No interval change in the right pleural effusion.", "Pleural Effusion", "positive"),
    ("FINDINGS: No significant change in bibasilar atelectasis.", "Atelectasis", "positive"),
    ("FINDINGS: No increase in the moderate cardiomegaly.", "Cardiomegaly", "positive"),
    ("FINDINGS: Near-complete resolution of the right pleural effusion.", "Pleural Effusion", "positive"),
    ("FINDINGS: No cardiomegaly with bilateral small pleural effusions.", "Pleural Effusion", "positive"),
    ("FINDINGS: No cardiomegaly with bilateral small pleural effusions.", "Cardiomegaly", "negative"),
]


@pytest.mark.parametrize(("text", "name", "expected"), PSEUDO_TABLE)
def test_pseudo_negations_do_not_negate(text: str, name: str, expected: str) -> None:
    assert label_of(text, name).status == expected


# ---------------------------------------------------------------------------------------------- evidence
def test_evidence_quotes_the_mention_with_a_versioned_producer() -> None:
    text = "FINDINGS: Small left pleural effusion."
    ev = label_of(text, "Pleural Effusion").evidence
    assert len(ev) == 1
    assert (ev[0].start, ev[0].end, ev[0].quote) == (21, 37, "pleural effusion")
    assert ev[0].producer == "medlens.rule.radiology.pleural_effusion.effusion.v1"
    assert ev[0].record_id == "r1"
    ev[0].verify(text)


def test_negated_label_records_the_cue() -> None:
    lab = label_of("FINDINGS: No pneumothorax.", "Pneumothorax")
    assert lab.assertion is not None
    assert [(c.text, c.status, c.start) for c in lab.assertion.cues] == [("No", "negated", 10)]


def test_every_producer_names_label_and_mention() -> None:
    text = "FINDINGS: CHF. Bibasilar atelectasis. ET tube in place. IMPRESSION: Possible pneumonia."
    pattern = re.compile(r"^medlens\.rule\.radiology\.[a-z_]+\.[a-z_]+\.v1$")
    producers = {ev.producer for lab in RULES.label(text, "r1") for ev in lab.evidence}
    assert producers
    assert all(pattern.match(p) for p in producers)


def test_not_mentioned_is_unsupported_without_evidence() -> None:
    lab = label_of("FINDINGS: Small left pleural effusion.", "Pneumothorax")
    assert (lab.status, lab.supported, lab.evidence) == ("not_mentioned", False, ())


# ---------------------------------------------------------------------------------------------- sections
SECTION_TABLE = [
    ("INDICATION: Rule out pneumonia.\nFINDINGS: The lungs are clear.", "Pneumonia", "not_mentioned", None),
    ("HISTORY: Pneumothorax last week.\nIMPRESSION: No acute disease.", "Pneumothorax", "not_mentioned", None),
    ("CLINICAL HISTORY: Effusion.\nFINDINGS: Small left pleural effusion.", "Pleural Effusion", "positive", "findings"),
    ("COMPARISON: Prior study showing pneumonia.\nFINDINGS: Clear lungs.", "Pneumonia", "not_mentioned", None),
    ("TECHNIQUE: Evaluate for pneumothorax.\nFINDINGS: Clear lungs.", "Pneumothorax", "not_mentioned", None),
    ("Small left pleural effusion.", "Pleural Effusion", "positive", "body"),
    ("CONCLUSION: Small left pleural effusion.", "Pleural Effusion", "positive", "impression"),
    ("IMPRESSION: Small left pleural effusion.", "Pleural Effusion", "positive", "impression"),
    # dictated reports: the body follows the comparison after a blank line, or under an exam-title header
    ("COMPARISON: None.\n\nThere is a small right pleural effusion.", "Pleural Effusion", "positive", "body"),
    (
        "COMPARISON: None.\nPA AND LATERAL CHEST RADIOGRAPH: Small right effusion.",
        "Pleural Effusion",
        "positive",
        "findings",
    ),
    ("FINDINGS:\nLUNGS: Small right effusion.", "Pleural Effusion", "positive", "findings"),
    ("WET READ: Small right effusion.", "Pleural Effusion", "positive", "findings"),
]


@pytest.mark.parametrize(("text", "name", "expected", "section"), SECTION_TABLE)
def test_only_findings_impression_and_body_produce_labels(
    text: str, name: str, expected: str, section: str | None
) -> None:
    lab = label_of(text, name)
    assert (lab.status, lab.section) == (expected, section)


def test_section_headers_are_not_mentions() -> None:
    lab = label_of("PNEUMONIA:\nThe lungs are clear.", "Pneumonia")
    assert lab.status == "not_mentioned"


def test_sections_option_restricts_labelling_to_the_impression() -> None:
    rules = RadiologyLabelsRules(sections=["impression"])
    text = "FINDINGS: Small left pleural effusion.\nIMPRESSION: No pneumothorax."
    assert label_of(text, "Pleural Effusion", rules).status == "not_mentioned"
    assert label_of(text, "Pneumothorax", rules).status == "negative"


def test_unknown_section_role_is_ml201() -> None:
    with pytest.raises(ConfigError) as err:
        RadiologyLabelsRules(sections=["history_of_everything"])
    assert err.value.code == "ML201"


# ---------------------------------------------------------------------------------------------- precedence
def test_impression_overrides_disagreeing_findings_and_records_both() -> None:
    text = "FINDINGS: Small right pleural effusion.\nIMPRESSION: No pleural effusion."
    lab = label_of(text, "Pleural Effusion")
    assert (lab.status, lab.precedence, lab.overridden_status, lab.section) == (
        "negative",
        "impression",
        "positive",
        "impression",
    )
    assert [(e.quote, e.start) for e in lab.evidence] == [("pleural effusion", 55), ("pleural effusion", 22)]
    assert "overridden by the impression" in (lab.evidence[1].explanation or "")


def test_agreeing_sections_set_no_precedence() -> None:
    text = "FINDINGS: Small right pleural effusion.\nIMPRESSION: Small right pleural effusion."
    lab = label_of(text, "Pleural Effusion")
    assert (lab.status, lab.precedence, len(lab.evidence)) == ("positive", None, 2)


def test_impression_precedence_can_be_turned_off() -> None:
    rules = RadiologyLabelsRules(impression_precedence=False)
    text = "FINDINGS: Small right pleural effusion.\nIMPRESSION: No pleural effusion."
    lab = label_of(text, "Pleural Effusion", rules)
    assert (lab.status, lab.precedence) == ("positive", None)


def test_implied_mention_in_impression_does_not_override_findings() -> None:
    text = "FINDINGS: Moderate cardiomegaly.\nIMPRESSION: Congestive heart failure."
    lab = label_of(text, "Cardiomegaly")
    assert (lab.status, lab.precedence) == ("positive", None)


# ---------------------------------------------------------------------------------------------- implications, parents
def test_heart_failure_implies_uncertain_cardiomegaly() -> None:
    lab = label_of("IMPRESSION: Congestive heart failure.", "Cardiomegaly")
    assert (lab.status, lab.derived_from) == ("uncertain", ("Edema",))
    assert lab.evidence[0].producer == "medlens.rule.radiology.cardiomegaly.edema_heart_failure.v1"
    assert label_of("IMPRESSION: Congestive heart failure.", "Edema").status == "positive"


def test_child_makes_parent_positive() -> None:
    lab = label_of("FINDINGS: Right lower lobe consolidation.", "Lung Opacity")
    assert (lab.status, lab.derived_from) == ("positive", ("Consolidation",))


def test_positive_child_outranks_negative_parent() -> None:
    text = "FINDINGS: The lungs are clear. Mild bibasilar atelectasis."
    assert label_of(text, "Lung Opacity").status == "positive"


def test_parent_propagation_can_be_turned_off() -> None:
    rules = RadiologyLabelsRules(propagate_to_parent=False)
    assert label_of("FINDINGS: Right lower lobe consolidation.", "Lung Opacity", rules).status == "not_mentioned"


# ---------------------------------------------------------------------------------------------- ALL-CAPS
ALLCAPS = "FINDINGS: THE HEART IS ENLARGED. NO PNEUMOTHORAX. SMALL LEFT PLEURAL EFFUSION.\nIMPRESSION: CHF."


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Cardiomegaly", "positive"),
        ("Pneumothorax", "negative"),
        ("Pleural Effusion", "positive"),
        ("Edema", "positive"),
        ("No Finding", "negative"),
    ],
)
def test_when_allcaps_report_then_labels_found(name: str, expected: str) -> None:
    assert label_of(ALLCAPS, name).status == expected


def test_lower_case_chf_is_not_the_abbreviation() -> None:
    assert label_of("FINDINGS: the chf clinic sent the patient.", "Edema").status == "not_mentioned"


# ---------------------------------------------------------------------------------------------- No Finding
NORMAL = (
    "FINDINGS: The lungs are clear. No pleural effusion or pneumothorax. Heart size is normal.\n"
    "IMPRESSION: No acute cardiopulmonary abnormality."
)


def test_no_finding_positive_cites_the_normal_statement() -> None:
    lab = label_of(NORMAL, "No Finding")
    assert lab.status == "positive"
    assert lab.supported
    assert [e.quote for e in lab.evidence] == ["No acute cardiopulmonary abnormality"]
    assert lab.evidence[0].producer == "medlens.rule.radiology.no_finding.no_acute_disease.v1"


def test_no_finding_positive_without_statement_cites_negative_mentions() -> None:
    lab = label_of("FINDINGS: No pneumothorax.", "No Finding")
    assert (lab.status, [e.quote for e in lab.evidence]) == ("positive", ["pneumothorax"])


def test_support_devices_do_not_block_no_finding() -> None:
    text = "FINDINGS: Left PICC line tip in the SVC. The lungs are clear."
    assert label_of(text, "Support Devices").status == "positive"
    assert label_of(text, "No Finding").status == "positive"


@pytest.mark.parametrize(
    ("text", "blocker"),
    [
        ("FINDINGS: The lungs are clear. Small left pleural effusion.", "Pleural Effusion"),
        ("IMPRESSION: Possible small left pleural effusion.", "Pleural Effusion"),
        ("FINDINGS: The lungs are clear. Mild thoracic scoliosis.", "other:spine"),
        ("FINDINGS: Calcified granuloma in the right upper lobe.", "other:granuloma"),
        ("FINDINGS: The lungs are hyperinflated but clear.", "other:emphysema"),
    ],
)
def test_positive_or_uncertain_finding_blocks_no_finding(text: str, blocker: str) -> None:
    lab = label_of(text, "No Finding")
    assert lab.status == "negative"
    assert blocker in lab.derived_from
    assert lab.evidence


def test_negated_other_finding_does_not_block_no_finding() -> None:
    assert label_of("FINDINGS: No hiatal hernia. Lungs are clear.", "No Finding").status == "positive"


def test_no_finding_not_mentioned_when_no_report_body() -> None:
    lab = label_of("INDICATION: Cough.\nCOMPARISON: None.", "No Finding")
    assert (lab.status, lab.supported) == ("not_mentioned", False)


def test_no_finding_without_any_statement_is_unsupported() -> None:
    lab = label_of("FINDINGS: PA and lateral views were obtained.", "No Finding")
    assert (lab.status, lab.supported, lab.evidence) == ("positive", False, ())


# ---------------------------------------------------------------------------------------------- task surface
def test_result_lists_every_chexpert_label_in_order() -> None:
    (result,) = RULES([Document(id="r1", text=NORMAL, kind="radiology")])
    assert isinstance(result, RadiologyLabelsResult)
    assert (result.name, result.backend, result.labelset) == ("medlens.task.radiology.labels.v1", "rules", "chexpert")
    assert tuple(lab.name for lab in result.labels) == CHEXPERT
    assert result.status_of("Cardiomegaly") == "negative"
    assert result.status_of("Not A Label") == "not_mentioned"


def test_result_round_trips_through_the_jsonl_envelope() -> None:
    (result,) = RULES([Document(id="r1", text=ALLCAPS, kind="radiology")])
    line = RecordResult(id="r1", kind="radiology", tasks={"radiology.labels": result}).to_json()
    payload = json.loads(line)["tasks"]["radiology.labels"]
    assert RadiologyLabelsResult.model_validate(payload) == result


def test_rules_are_a_task() -> None:
    assert isinstance(RULES, Task)
    assert RULES.requires == ("document.text",)
    assert RULES.assigns == ("tasks.radiology.labels",)


def test_batch_gives_one_result_per_document_in_order() -> None:
    docs = [Document(id=f"r{i}", text=t) for i, t in enumerate(["No pneumothorax.", "Small pneumothorax.", ""])]
    results = RULES(docs)
    assert [r.status_of("Pneumothorax") for r in results] == ["negative", "positive", "not_mentioned"]
    assert results[1].labels[9].evidence[0].record_id == "r1"
