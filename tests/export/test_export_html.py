"""HTML report writer: highlights match evidence, everything is escaped, counts add up, the page is self-contained."""

from __future__ import annotations

import itertools
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medlens.core.errors import ConfigError
from medlens.core.types import Assertion, Claim, Code, Cue, Document, ErrorItem, Evidence, RecordResult, TaskResult
from medlens.export.html import Highlight, HtmlReportWriter, segment_text
from medlens.notes.schema import (
    AllergyDetail,
    Attribute,
    Finding,
    MeasurementDetail,
    MedicationDetail,
    NotesExtractResult,
    Quantity,
)
from medlens.pathology.extract import PathologyExtractRules

RID = "note-1"
TEXT = (
    "Pt denies chest pain. <script>alert('x')</script> History of myocardial infarction.\n"
    "Metformin 500 mg PO b.i.d.\n"
    "BP 142/90 mmHg (H). Mother had breast cancer. Return if fever."
)


def _ev(text: str, start: int, end: int, record_id: str = RID) -> Evidence:
    return Evidence.of(text, record_id, start, end, "medlens.rule.test.v1")


def _at(needle: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


def _assertion(**statuses: bool) -> Assertion:
    cues = tuple(Cue(status=s, start=0, end=2, text=f"cue-{s}", rule=f"medlens.context.{s}.v1") for s in statuses)
    return Assertion(**statuses, cues=cues)


def _findings() -> tuple[Finding, ...]:
    """Hand-built findings: crossing and nested spans, every assertion status, a code, a sig and a measurement."""
    chest = _at("chest pain")
    pain = _at("pain.")  # nested in "chest pain" and crossing the sentence end
    mi = _at("myocardial infarction")
    history_mi = _at("History of myocardial")  # crosses the end of "myocardial infarction"
    metformin = _at("Metformin 500 mg PO b.i.d.")
    dose = _at("500 mg")
    bp = _at("BP 142/90 mmHg (H)")
    cancer = _at("breast cancer")
    fever = _at("fever")
    return (
        Finding(
            type="problem",
            text="chest pain",
            code=Code(system="http://hl7.org/fhir/sid/icd-10-cm", code="R07.9", display="Chest pain, unspecified"),
            assertion=_assertion(negated=True),
            section="history_of_present_illness",
            evidence=(_ev(TEXT, *chest),),
        ),
        Finding(type="problem", text="pain", assertion=_assertion(uncertain=True), evidence=(_ev(TEXT, *pain),)),
        Finding(
            type="problem",
            text="myocardial infarction",
            assertion=_assertion(historical=True),
            evidence=(_ev(TEXT, *mi),),
        ),
        Finding(type="procedure", text="history span", evidence=(_ev(TEXT, *history_mi),)),
        Finding(
            type="medication",
            text="metformin",
            medication=MedicationDetail(
                dose=Quantity(text="500 mg", value=500.0, unit="mg", evidence=(_ev(TEXT, *dose),)),
                route=Attribute(text="PO", value="PO", evidence=(_ev(TEXT, *_at("PO")),)),
                frequency=Attribute(text="b.i.d.", value="BID", evidence=(_ev(TEXT, *_at("b.i.d.")),)),
            ),
            evidence=(_ev(TEXT, *metformin),),
        ),
        Finding(
            type="vital",
            text="blood pressure",
            measurement=MeasurementDetail(
                value=Quantity(text="142", value=142.0, unit="mm[Hg]", evidence=(_ev(TEXT, *_at("142")),)),
                value2=Quantity(text="90", value=90.0, unit="mm[Hg]", evidence=(_ev(TEXT, *_at("90 ")),)),
                interpretation="H",
                interpretation_source="stated",
            ),
            evidence=(_ev(TEXT, *bp),),
        ),
        Finding(
            type="problem", text="breast cancer", assertion=_assertion(family=True), evidence=(_ev(TEXT, *cancer),)
        ),
        Finding(type="problem", text="fever", assertion=_assertion(hypothetical=True), evidence=(_ev(TEXT, *fever),)),
    )


def _result(findings: tuple[Finding, ...], record_id: str = RID, errors: list[ErrorItem] | None = None) -> RecordResult:
    task = NotesExtractResult(name="medlens.task.notes.extract.v1", backend="rules", findings=findings)
    return RecordResult(id=record_id, kind="note", tasks={"notes.extract": task}, errors=errors or [])


def _render(tmp_path: Path, records: list[tuple[Document, RecordResult]], **options: int) -> str:
    writer = HtmlReportWriter(tmp_path, **options)
    for document, result in records:
        writer.write(document, result)
    writer.close()
    return (tmp_path / "report.html").read_text(encoding="utf-8")


class _Page(HTMLParser):
    """Collects <mark> highlights, summary cells and badges from the report."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[dict[str, str]] = []
        self.cells: dict[tuple[str, str], str] = {}
        self.badges: list[tuple[str, str]] = []
        self.note_texts: dict[str, str] = {}
        self._mark: dict[str, str] | None = None
        self._cell: tuple[str, str] | None = None
        self._badge: str | None = None
        self._record: str | None = None
        self._text_of: str | None = None
        self._article: str | None = None
        self._row_f: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "article":
            self._article = a.get("data-record")
        elif tag == "div" and a.get("class") == "ml-text" and self._article is not None:
            self._text_of = self._article
            self.note_texts[self._article] = ""
        elif tag == "mark":
            self._mark = {**a, "text": ""}
        elif tag == "tr":
            self._record = a.get("data-record")
            self._row_f = a.get("data-f")
        elif tag == "td" and self._record is not None and "data-col" in a:
            self._cell = (self._record, a["data-col"])
            self.cells[self._cell] = ""
        elif tag == "span" and "badge" in a.get("class", "").split():
            self._badge = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self._mark is not None:
            self.marks.append(self._mark)
            self._mark = None
        elif tag == "div" and self._text_of is not None and self._mark is None:
            self._text_of = None
        elif tag == "td":
            self._cell = None
        elif tag == "span" and self._badge is not None:
            self.badges.append((self._row_f or "", self._badge))
            self._badge = None
        elif tag == "article":
            self._article = None

    def handle_data(self, data: str) -> None:
        if self._mark is not None:
            self._mark["text"] += data
        if self._text_of is not None:
            self.note_texts[self._text_of] += data
        if self._cell is not None:
            self.cells[self._cell] += data
        if self._badge is not None:
            self._badge += data


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def page(tmp_path: Path) -> str:
    return _render(tmp_path, [(Document(id=RID, text=TEXT), _result(_findings()))])


def test_note_text_round_trips_through_the_page(page: str) -> None:
    assert _parse(page).note_texts[RID] == TEXT


def test_each_highlight_segment_quotes_its_own_offsets(page: str) -> None:
    marks = _parse(page).marks
    assert marks
    for mark in marks:
        assert TEXT[int(mark["data-start"]) : int(mark["data-end"])] == mark["text"]


def test_highlight_segments_cover_each_evidence_span_exactly(page: str) -> None:
    covered: dict[tuple[str, int, int], list[tuple[int, int]]] = {}
    for mark in _parse(page).marks:
        for item in mark["data-ev"].split():
            fid, _, span = item.partition(":")
            start, _, end = span.partition("-")
            covered.setdefault((fid, int(start), int(end)), []).append((int(mark["data-start"]), int(mark["data-end"])))
    expected = {(f"n1-f{k}", ev.start, ev.end) for k, f in enumerate(_findings()) for ev in f.evidence}
    assert set(covered) == expected
    for (_, start, end), pieces in covered.items():
        pieces.sort()
        assert pieces[0][0] == start
        assert pieces[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))


def test_crossing_spans_share_one_overlap_segment(page: str) -> None:
    start, end = _at("History of myocardial infarction")
    shared = [m for m in _parse(page).marks if m["data-start"] == str(TEXT.index("myocardial"))]
    assert len(shared) == 1
    assert set(shared[0]["data-f"].split()) == {"n1-f2", "n1-f3"}
    assert "ml-overlap" in shared[0]["class"].split()
    assert start < int(shared[0]["data-start"]) < int(shared[0]["data-end"]) < end


def test_overlap_segment_takes_innermost_colour_and_both_type_classes(page: str) -> None:
    mark = next(m for m in _parse(page).marks if m["data-start"] == str(TEXT.index("myocardial")))
    classes = mark["class"].split()
    assert {"t-problem", "t-procedure"} <= set(classes)
    assert "p-problem" in classes  # "myocardial infarction" is shorter than "History of myocardial"


def test_highlight_title_names_finding_and_statuses(page: str) -> None:
    mark = next(m for m in _parse(page).marks if m["text"] == "chest ")
    assert mark["title"] == "problem: chest pain [negated]"


def test_script_in_note_text_is_escaped(page: str) -> None:
    assert "<script>alert('x')</script>" not in page
    assert "&lt;script&gt;alert(" in page
    assert page.count("<script") == 1  # the report's own inline script


def test_markup_in_ids_messages_and_finding_text_is_escaped(tmp_path: Path) -> None:
    bad = '<img src=x onerror="alert(1)">'
    text = "Fever today."
    finding = Finding(type="problem", text=bad, section=bad, evidence=(_ev(text, 0, 5, record_id=bad),))
    errors = [ErrorItem(code="ML902", message=bad, task=bad)]
    page = _render(tmp_path, [(Document(id=bad, text=text, source=bad), _result((finding,), bad, errors))])
    assert "<img" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


@pytest.mark.parametrize(
    ("fid", "status"),
    [
        ("n1-f0", "negated"),
        ("n1-f1", "uncertain"),
        ("n1-f2", "historical"),
        ("n1-f6", "family"),
        ("n1-f7", "hypothetical"),
    ],
)
def test_assertion_badge_shown_in_findings_row(page: str, fid: str, status: str) -> None:
    assert (fid, status) in _parse(page).badges


def test_affirmed_finding_has_no_badge(page: str) -> None:
    assert not [b for b in _parse(page).badges if b[0] == "n1-f4"]


def test_cue_text_shown_in_findings_table(page: str) -> None:
    assert "cue-negated (negated)" in page


def test_code_shown_by_system_short_name(page: str) -> None:
    assert "ICD-10-CM R07.9" in page
    assert 'title="Chest pain, unspecified"' in page


def test_measurement_value_shows_both_components_and_flag(page: str) -> None:
    assert "142 mm[Hg]/90 mm[Hg] [H]" in page


def test_medication_sig_shown(page: str) -> None:
    assert "500 mg PO b.i.d." in page


def test_summary_counts_per_type_and_status(page: str) -> None:
    cells = _parse(page).cells
    expected = {"problem": "5", "medication": "1", "vital": "1", "procedure": "1", "lab": "0", "allergy": "0"}
    expected |= {"negated": "1", "uncertain": "1", "historical": "1", "hypothetical": "1", "family": "1"}
    expected["errors"] = "0"
    assert {col: cells[(RID, col)] for col in expected} == expected


def test_summary_totals_add_up_over_notes(tmp_path: Path) -> None:
    text2 = "Allergic to penicillin (rash)."
    allergy = Finding(
        type="allergy",
        text="penicillin",
        allergy=AllergyDetail(reactions=(Attribute(text="rash", evidence=(_ev(text2, 24, 28, "n2"),)),)),
        evidence=(_ev(text2, 12, 22, "n2"),),
    )
    errors = [ErrorItem(code="ML902", message="internal error ValueError", task="notes.extract")]
    page = _render(
        tmp_path,
        [
            (Document(id=RID, text=TEXT), _result(_findings())),
            (Document(id="n2", text=text2), _result((allergy,), "n2", errors)),
        ],
    )
    cells = _parse(page).cells
    assert cells[("__total__", "problem")] == "5"
    assert cells[("__total__", "allergy")] == "1"
    assert cells[("__total__", "negated")] == "1"
    assert cells[("__total__", "errors")] == "1"
    assert cells[("n2", "errors")] == "1"
    assert "reaction: rash" in page


def test_bar_chart_has_one_bar_per_type_with_total(page: str) -> None:
    bars = dict(re.findall(r'<rect class="c-[a-z-]+"[^>]*data-type="([^"]+)" data-count="(\d+)"', page))
    assert bars == {"problem": "5", "medication": "1", "allergy": "0", "vital": "1", "lab": "0", "procedure": "1"}


def test_page_has_no_external_references(page: str) -> None:
    assert not re.search(r"https?://", page)
    assert not re.search(r"\b(?:src|href)\s*=\s*[\"']?(?![\"'#])", page)
    assert "@import" not in page
    assert "url(" not in page


def test_header_shows_version_and_notice(page: str) -> None:
    assert "Decision support for clinician review — not for diagnostic use" in page
    assert re.search(r"medlens \S+ · run started \d{4}-\d\d-\d\dT", page)


def test_record_errors_shown_under_note(tmp_path: Path) -> None:
    errors = [ErrorItem(code="ML902", message="internal error KeyError", task="notes.extract")]
    page = _render(tmp_path, [(Document(id=RID, text="Cough."), _result((), errors=errors))])
    assert '<div class="errors"><div><code>ML902</code> [notes.extract] internal error KeyError</div></div>' in page


def test_notes_beyond_max_notes_listed_in_summary_only(tmp_path: Path) -> None:
    records = [(Document(id=f"n{i}", text="Cough."), _result((), f"n{i}")) for i in range(5)]
    parsed = _parse(_render(tmp_path, records, max_notes=2))
    assert set(parsed.note_texts) == {"n0", "n1"}
    assert {record for record, _ in parsed.cells} == {"n0", "n1", "n2", "n3", "n4", "__total__"}


def test_summary_rows_capped_but_totals_cover_every_note(tmp_path: Path) -> None:
    text = "Fever."
    records = [
        (
            Document(id=f"n{i}", text=text),
            _result((Finding(type="problem", text="fever", evidence=(_ev(text, 0, 5, f"n{i}"),)),), f"n{i}"),
        )
        for i in range(4)
    ]
    parsed = _parse(_render(tmp_path, records, max_notes=1, max_summary_rows=2))
    assert {record for record, _ in parsed.cells} == {"n0", "n1", "__total__"}
    assert parsed.cells[("__total__", "problem")] == "4"


def test_evidence_outside_text_is_flagged_not_highlighted(tmp_path: Path) -> None:
    text = "Fever."
    outside = Evidence(record_id=RID, start=3, end=40, quote="x", producer="medlens.rule.test.v1")
    finding = Finding(type="problem", text="fever", evidence=(outside,))
    parsed = _parse(_render(tmp_path, [(Document(id=RID, text=text), _result((finding,)))]))
    assert parsed.marks == []
    assert ("n1-f0", "evidence outside text") in parsed.badges


class _Label(Claim):
    name: str
    status: str


class _LabelsResult(TaskResult):
    labels: tuple[_Label, ...] = ()


def test_other_task_results_with_labels_are_highlighted(tmp_path: Path) -> None:
    text = "The heart is enlarged."
    label = _Label(name="Cardiomegaly", status="positive", evidence=(_ev(text, 4, 21),))
    task = _LabelsResult(name="medlens.task.radiology.labels.v1", backend="rules", labels=(label,))
    result = RecordResult(id=RID, kind="radiology", tasks={"radiology.labels": task})
    parsed = _parse(_render(tmp_path, [(Document(id=RID, text=text, kind="radiology"), result)]))
    assert [(m["text"], m["class"]) for m in parsed.marks] == [("heart is enlarged", "ml-hl t-label p-label")]
    assert ("n1-f0", "positive") in parsed.badges
    assert parsed.cells[(RID, "label")] == "1"


def test_task_results_given_as_plain_mappings_are_highlighted(tmp_path: Path) -> None:
    text = "No edema."
    payload = {
        "findings": [
            {
                "type": "problem",
                "text": "edema",
                "evidence": [{"record_id": RID, "start": 3, "end": 8}],
                "assertion": {"negated": True},
            }
        ]
    }
    result = RecordResult.model_construct(id=RID, kind="note", tasks={"notes.extract": payload}, errors=[])
    parsed = _parse(_render(tmp_path, [(Document(id=RID, text=text), result)]))
    assert [(m["data-start"], m["data-end"], m["text"]) for m in parsed.marks] == [("3", "8", "edema")]
    assert ("n1-f0", "negated") in parsed.badges


@pytest.mark.parametrize("option", ["max_notes", "max_summary_rows", "max_chars"])
def test_negative_limit_is_a_config_error(tmp_path: Path, option: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        HtmlReportWriter(tmp_path, **{option: -1})
    assert excinfo.value.code == "ML201"


def test_close_writes_report_html_in_out_dir(tmp_path: Path) -> None:
    writer = HtmlReportWriter(tmp_path / "new")
    writer.close()
    assert (tmp_path / "new" / writer.filename).is_file()
    assert list((tmp_path / "new").iterdir()) == [tmp_path / "new" / "report.html"]


@given(text=st.text(alphabet="ab <>&\n", max_size=30), data=st.data())
def test_segments_rebuild_text_and_list_exactly_the_covering_spans(text: str, data: st.DataObject) -> None:
    bound = st.integers(0, len(text) + 1)
    spans = data.draw(st.lists(st.tuples(bound, bound), max_size=8))
    highlights = [Highlight(f"f{i}", "problem", a, b, "x") for i, (a, b) in enumerate(spans)]
    segments = segment_text(text, highlights)
    assert "".join(s.text for s in segments) == text
    for seg in segments:
        assert seg.text == text[seg.start : seg.end]
        covering = {h.fid for h in highlights if 0 <= h.start < h.end <= len(text) and h.start <= seg.start < h.end}
        assert {h.fid for h in seg.highlights} == covering


GOLDEN = Path(__file__).parent / "golden" / "report.html"
_VOLATILE = re.compile(r"(medlens )\S+( · run started )\S+( · report generated )\S+|(content=\"medlens )[^\"]+")


def _stable(page: str) -> str:
    return _VOLATILE.sub(lambda m: f"{m[1]}X{m[2]}X{m[3]}X" if m[1] else f"{m[4]}X", page)


def test_page_matches_golden_file(page: str) -> None:
    """Regenerate after an intended change with: MEDLENS_UPDATE_GOLDEN=1 pytest tests/export/test_export_html.py"""
    if os.environ.get("MEDLENS_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(_stable(page), encoding="utf-8")
    assert _stable(page) == GOLDEN.read_text(encoding="utf-8")


def test_unsupported_claims_are_listed_but_not_counted(tmp_path: Path) -> None:
    text = "The heart is enlarged."
    found = _Label(name="Cardiomegaly", status="positive", evidence=(_ev(text, 4, 21),))
    absent = _Label(name="Edema", status="not_mentioned", supported=False)
    task = _LabelsResult(name="medlens.task.radiology.labels.v1", backend="rules", labels=(found, absent))
    result = RecordResult(id=RID, kind="radiology", tasks={"radiology.labels": task})
    parsed = _parse(_render(tmp_path, [(Document(id=RID, text=text, kind="radiology"), result)]))
    assert parsed.cells[(RID, "label")] == "1"
    assert ("n1-f1", "unsupported") in parsed.badges


class _Sentence(Claim):
    text: str


class _ImpressionResult(TaskResult):
    sentences: tuple[_Sentence, ...] = ()


def test_impression_sentences_are_highlighted_as_their_own_type(tmp_path: Path) -> None:
    text = "Small left effusion."
    sentence = _Sentence(text="Small left effusion.", evidence=(_ev(text, 0, 19),))
    task = _ImpressionResult(name="medlens.task.radiology.impression.v1", backend="rules", sentences=(sentence,))
    result = RecordResult(id=RID, kind="radiology", tasks={"radiology.impression": task})
    parsed = _parse(_render(tmp_path, [(Document(id=RID, text=text, kind="radiology"), result)]))
    assert [m["text"] for m in parsed.marks] == ["Small left effusion"]
    assert parsed.cells[(RID, "sentence")] == "1"


def test_pathology_fields_record_is_highlighted_field_by_field(tmp_path: Path) -> None:
    text = "FINAL DIAGNOSIS: Invasive ductal carcinoma.\nTumor size: 2.5 cm.\nPathologic stage: pT2 pN0\n"
    document = Document(id="path-1", text=text, kind="pathology")
    (extracted,) = PathologyExtractRules()([document])
    result = RecordResult(id="path-1", kind="pathology", tasks={"pathology.extract": extracted})
    page = _render(tmp_path, [(document, result)])
    marks = dict(re.findall(r'<mark class="[^"]*\bt-(\w+)[^"]*"[^>]*>([^<]*)', page))
    assert marks.get("pt") == "pT2"
    assert marks.get("tumour_size") == "2.5 cm"
