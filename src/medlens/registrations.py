"""Every name medlens registers, in one place, by dotted path (imported only when used).

``tests/core/test_core_registry.py`` snapshots these names (``registry_contents.json``): a name that vanishes or
changes fails the build. Once released, a name's behaviour never changes; add ``...v2`` instead.
"""

from __future__ import annotations

from medlens.core.registry import TaskSpec, readers, tasks, writers

__all__ = ["register_all"]

_done = False


def _task(spec: TaskSpec) -> None:
    """Register a task under its full name and its alias."""
    tasks.register(spec.name, spec, alias=spec.alias)


def register_all() -> None:
    """Register the built-in tasks, readers and writers (idempotent)."""
    global _done
    if _done:
        return
    _done = True

    _task(
        TaskSpec(
            name="medlens.task.notes.extract.v1",
            alias="notes.extract",
            description="Problems, medications, allergies, vitals, labs and procedures from clinical notes.",
            backends={
                "rules": "medlens.notes.rules:NotesExtractRules",
                "llm": "medlens.notes.llm:NotesExtractLLM",
                "hybrid": "medlens.notes.llm:NotesExtractHybrid",
            },
            result="medlens.notes.llm:NotesExtractLLMResult",
            kinds=("note", "radiology", "pathology", "dialogue", "other"),
            card="medlens.notes:CARD.md",
        )
    )

    _task(
        TaskSpec(
            name="medlens.task.radiology.labels.v1",
            alias="radiology.labels",
            description="CheXpert observations (positive/negative/uncertain/not mentioned) with evidence, for "
            "radiology reports.",
            backends={
                "rules": "medlens.radiology.labels:RadiologyLabelsRules",
                "llm": "medlens.radiology.llm:RadiologyLabelsLLM",
                "hybrid": "medlens.radiology.llm:RadiologyLabelsHybrid",
            },
            result="medlens.radiology.llm:RadiologyLabelsLLMResult",
            # "note": JSONL or text without a kind defaults to note; asking for the task should still run it.
            kinds=("radiology", "note", "other"),
            card="medlens.radiology:CARD.md",
        )
    )

    _task(
        TaskSpec(
            name="medlens.task.radiology.findings.v1",
            alias="radiology.findings",
            description="Nodules, masses and other lesions as structured objects (size, location, composition, "
            "change) with evidence.",
            backends={"rules": "medlens.radiology.findings:RadiologyFindingsRules"},
            result="medlens.radiology.findings_schema:RadiologyFindingsResult",
            kinds=("radiology", "note", "other"),
            card="medlens.radiology:CARD.md",
        )
    )
    _task(
        TaskSpec(
            name="medlens.task.radiology.impression.v1",
            alias="radiology.impression",
            description="Draft impression copied from the findings section, ranked, every sentence grounded.",
            backends={"rules": "medlens.radiology.impression:RadiologyImpressionRules"},
            result="medlens.radiology.impression_schema:RadiologyImpressionResult",
            kinds=("radiology", "note", "other"),
            card="medlens.radiology:CARD.md",
        )
    )
    _task(
        TaskSpec(
            name="medlens.task.pathology.extract.v1",
            alias="pathology.extract",
            description="Pathology report fields (cancer type, histology, grade, size, pT/pN/pM, margins, LVI/PNI, "
            "nodes, ER/PR/HER2/Ki-67, MMR/MSI) with evidence; OCR-robust.",
            backends={
                "rules": "medlens.pathology.extract:PathologyExtractRules",
                "llm": "medlens.pathology.llm:PathologyExtractLLM",
                "hybrid": "medlens.pathology.llm:PathologyExtractHybrid",
            },
            result="medlens.pathology.llm:PathologyExtractLLMResult",
            kinds=("pathology", "note", "other"),
            card="medlens.pathology:CARD.md",
        )
    )
    _task(
        TaskSpec(
            name="medlens.task.pathology.stage.v1",
            alias="pathology.stage",
            description="AJCC 8th edition stage group computed from the extracted pT/pN/pM (T from size only where "
            "the site defines it, marked inferred), with citation and agreement with the stated stage.",
            backends={"rules": "medlens.pathology.stage:PathologyStageRules"},
            result="medlens.pathology.stage_schema:PathologyStageResult",
            kinds=("pathology", "note", "other"),
            card="medlens.pathology:CARD.md",
        )
    )
    _task(
        TaskSpec(
            name="medlens.task.pathology.synoptic.v1",
            alias="pathology.synoptic",
            description="CAP-style synoptic report (Markdown; HTML/FHIR renderers) with completeness and consistency "
            "findings pointing at their evidence.",
            backends={"rules": "medlens.pathology.synoptic:PathologySynopticRules"},
            result="medlens.pathology.synoptic:PathologySynopticResult",
            kinds=("pathology", "note", "other"),
            card="medlens.pathology:CARD.md",
        )
    )

    readers.register("medlens.reader.text.v1", "medlens.io.readers:read_text", alias="text")
    readers.register("medlens.reader.jsonl.v1", "medlens.io.readers:read_jsonl", alias="jsonl")
    readers.register("medlens.reader.csv.v1", "medlens.io.readers:read_csv", alias="csv")
    readers.register("medlens.reader.fhir.v1", "medlens.io.fhir_reader:read_fhir", alias="fhir")
    readers.register("medlens.reader.hl7.v1", "medlens.io.hl7_reader:read_hl7", alias="hl7")

    writers.register("medlens.writer.jsonl.v1", "medlens.export.jsonl:JsonlWriter", alias="jsonl")
    writers.register("medlens.writer.fhir.v1", "medlens.export.fhir:FhirBundleWriter", alias="fhir")
    writers.register("medlens.writer.note_nlp.v1", "medlens.export.omop:NoteNlpCsvWriter", alias="note_nlp")
    writers.register(
        "medlens.writer.note_nlp_parquet.v1", "medlens.export.omop:NoteNlpParquetWriter", alias="note_nlp_parquet"
    )
    writers.register("medlens.writer.html.v1", "medlens.export.html:HtmlReportWriter", alias="html")
