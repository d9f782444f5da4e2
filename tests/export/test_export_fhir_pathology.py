"""The FHIR Bundle writer exports pathology.synoptic results as a DiagnosticReport with Observations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from medlens.core.types import Document, RecordResult
from medlens.export.fhir import AIAST, DERIVATION_REFERENCE, FhirBundleWriter
from medlens.pathology.synoptic import PathologySynopticRules

REPORT = (
    "FINAL DIAGNOSIS:\nA. Left breast, mastectomy: Invasive ductal carcinoma, Nottingham grade 2.\n"
    "Tumor size: 2.5 cm.\nLymph nodes: 2/14 positive.\nER: positive (95%). PR: positive (40%).\n"
    "Pathologic stage: pT2 pN1a\n"
)


def _bundle(tmp_path: Path, result: RecordResult, document: Document) -> dict[str, Any]:
    writer = FhirBundleWriter(tmp_path, recorded=dt.datetime(2026, 11, 23, tzinfo=dt.UTC), version="0.0.0-test")
    writer.write(document, result)
    writer.close()
    bundle: dict[str, Any] = json.loads((tmp_path / "bundle.json").read_text(encoding="utf-8"))
    return bundle


def _record(tasks: dict[str, Any]) -> tuple[Document, RecordResult]:
    document = Document(id="path-1", text=REPORT, kind="pathology", patient_id="p1")
    return document, RecordResult(id="path-1", kind="pathology", patient_id="p1", tasks=tasks)


def test_synoptic_result_becomes_a_diagnostic_report_with_observations(tmp_path: Path) -> None:
    document, _ = _record({})
    (synoptic,) = PathologySynopticRules()([document])
    document, result = _record({"pathology.synoptic": synoptic})
    bundle = _bundle(tmp_path, result, document)
    Bundle.model_validate(bundle)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types.count("DiagnosticReport") == 1
    assert types.count("Observation") >= 3
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in ("DiagnosticReport", "Observation"):
            assert AIAST in resource["meta"]["security"]
    spans = [
        ext
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        for ext in e["resource"].get("extension", [])
        if ext["url"] == DERIVATION_REFERENCE
    ]
    assert spans, "every exported element carries its evidence span"


def test_record_without_pathology_or_other_results_exports_nothing(tmp_path: Path) -> None:
    document, result = _record({})
    bundle = _bundle(tmp_path, result, document)
    assert not any(e["resource"]["resourceType"] == "DiagnosticReport" for e in bundle.get("entry", []))
