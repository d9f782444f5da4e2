"""NotesExtractRules: the task contract, one analysis per note, assembly of all finding types, options, determinism."""

from __future__ import annotations

from importlib import resources

import pytest

from medlens.core.errors import ConfigError
from medlens.core.registry import Task, tasks
from medlens.core.types import Document
from medlens.notes import rules as rules_module
from medlens.notes.rules import NotesExtractRules
from medlens.notes.schema import FINDING_TYPES, NotesExtractResult
from medlens.registrations import register_all

ALL_CAPS_NOTE = (
    "CHIEF COMPLAINT: SHORTNESS OF BREATH.\n"
    "PAST MEDICAL HISTORY: HTN, COPD, CHF. S/P CABG.\n"
    "MEDICATIONS: FUROSEMIDE 40 MG PO DAILY, ALBUTEROL 2 PUFFS INHALED Q4H PRN WHEEZING.\n"
    "ALLERGIES: PENICILLIN (HIVES).\n"
    "VITAL SIGNS: BLOOD PRESSURE 150/90, HEART RATE 88.\n"
)


@pytest.fixture(scope="module")
def rules() -> NotesExtractRules:
    return NotesExtractRules()


def test_task_contract_attributes():
    task = NotesExtractRules()
    assert task.name == "medlens.task.notes.extract.v1"
    assert task.backend == "rules"
    assert task.requires == ("document.text",)
    assert task.assigns == ("tasks.notes.extract",)
    assert isinstance(task, Task)


def test_registry_creates_the_rules_backend():
    register_all()
    task = tasks.get("notes.extract").create()
    assert isinstance(task, NotesExtractRules)


def test_call_returns_one_result_per_document_in_order(rules):
    docs = [Document(id="a", text="Hypertension."), Document(id="b", text=""), Document(id="c", text="Aspirin 81 mg")]
    results = rules(docs)
    assert [type(r) for r in results] == [NotesExtractResult] * 3
    assert [(r.name, r.backend) for r in results] == [("medlens.task.notes.extract.v1", "rules")] * 3
    assert [[f.text for f in r.findings] for r in results] == [["hypertension"], [], ["aspirin"]]
    assert results[0].findings[0].evidence[0].record_id == "a"
    assert results[2].findings[0].evidence[0].record_id == "c"


def test_all_caps_note_yields_every_finding_type(rules):
    found = rules.extract(ALL_CAPS_NOTE, "r1")
    by_type = {t: [f.text for f in found if f.type == t] for t in FINDING_TYPES}
    assert by_type["problem"] == [
        "shortness of breath",
        "hypertension",
        "chronic obstructive pulmonary disease",
        "heart failure",
    ]
    assert by_type["procedure"] == ["coronary artery bypass graft"]
    assert by_type["medication"] == ["furosemide", "albuterol"]
    assert by_type["allergy"] == ["penicillins"]
    assert len(by_type["vital"]) == 2  # vitals_labs owns their names and codes


def test_findings_are_sorted_by_first_evidence_start(rules):
    found = rules.extract(ALL_CAPS_NOTE, "r1")
    starts = [f.evidence[0].start for f in found]
    assert starts == sorted(starts)


def test_prn_reason_in_a_medication_list_is_not_a_problem(rules):
    found = rules.extract(ALL_CAPS_NOTE, "r1")
    wheeze = [f for f in found if f.type == "problem" and f.text == "wheezing"]
    assert wheeze == []


def test_analyze_runs_once_per_document_and_is_shared_with_vitals_labs(monkeypatch):
    task = NotesExtractRules()  # built (and warmed up) before the spies are installed
    seen: list[object] = []
    real_analyze = rules_module.analyze
    real_vitals = rules_module.extract_vitals_labs

    def counting_analyze(text):
        analysis = real_analyze(text)
        seen.append(analysis)
        return analysis

    passed: list[object] = []

    def spying_vitals(text, record_id, analysis, context):
        passed.append(analysis)
        return real_vitals(text, record_id, analysis, context)

    monkeypatch.setattr(rules_module, "analyze", counting_analyze)
    monkeypatch.setattr(rules_module, "extract_vitals_labs", spying_vitals)
    task([Document(id="a", text=ALL_CAPS_NOTE), Document(id="b", text="BP 120/80.")])
    assert len(seen) == 2
    assert passed == seen


def test_assertions_are_decided_in_one_call_per_document(monkeypatch, rules):
    calls: list[int] = []
    engine = rules._res.context
    real = engine.assert_targets

    def counting(text, targets, *, analysis=None):
        calls.append(len(targets))
        return real(text, targets, analysis=analysis)

    monkeypatch.setattr(engine, "assert_targets", counting)
    rules.extract("Denies chest pain. Aspirin 81 mg daily. History of appendectomy.", "r1")
    assert calls[0] == 3


def test_types_option_keeps_only_the_chosen_types():
    only = NotesExtractRules(types=["medication", "vital"])
    found = only.extract(ALL_CAPS_NOTE, "r1")
    assert {f.type for f in found} == {"medication", "vital"}


def test_unknown_type_option_is_a_coded_config_error():
    with pytest.raises(ConfigError) as info:
        NotesExtractRules(types=["problem", "diagnoses"])
    assert info.value.code == "ML201"


def test_glued_transcribed_sections(rules):
    found = rules.extract("MEDICATIONS:  None.ALLERGIES:  No known drug allergies.", "r1")
    assert [(f.type, f.text, f.section, f.assertion.negated) for f in found] == [
        ("allergy", "drug allergy", "allergies", True)
    ]


def test_same_input_gives_the_same_output(rules):
    text = resources.files("medlens").joinpath("examples", "notes", "01_cardiology_clinic_soap.txt")
    note = text.read_text(encoding="utf-8") if text.is_file() else ALL_CAPS_NOTE
    first = [f.model_dump() for f in rules.extract(note, "r1")]
    second = [f.model_dump() for f in NotesExtractRules().extract(note, "r1")]
    assert first == second
    assert first


def test_instances_share_the_built_automaton():
    assert NotesExtractRules()._res is NotesExtractRules()._res


def test_empty_and_whitespace_text_give_no_findings(rules):
    assert rules.extract("", "r1") == []
    assert rules.extract(" \n\t ", "r1") == []
