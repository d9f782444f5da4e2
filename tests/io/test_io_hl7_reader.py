"""HL7 v2 reader: ORU^R01 and MDM messages -> Documents; every malformed message is a coded error on its MSH line,
never an exception, and never quotes message content. All messages are synthetic."""

from __future__ import annotations

import datetime as dt
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from medlens.core.errors import InputError, MissingDependencyError
from medlens.core.types import Document
from medlens.io.hl7_encoding import Delimiters, parse_delimiters, unescape_hl7
from medlens.io.hl7_reader import HL7_EXTENSIONS, Hl7CharacterSet, hl7_tables, parse_hl7_messages, read_hl7

Item = Document | InputError
SECRET = "ZEBRAQUARTZ"  # stands for PHI: must never appear in an error message
CODES = {"ML101", "ML102", "ML104", "ML105", "ML107", "ML108"}


# --- message builders -------------------------------------------------------------------------------------------


def msh(message_type: str = "ORU^R01", control: str = "MSG1", charset: str = "") -> str:
    head = f"MSH|^~\\&|RIS|HOSP|EHR|HOSP|20240105120000||{message_type}|{control}|P|2.5.1"
    return head + ("||||||" + charset if charset else "")


PID = "PID|1||MRN001^^^HOSP^MR||TEST^PATIENT"


def obr(
    set_id: int = 1,
    *,
    placer: str = "PLC1",
    filler: str = "ACC1",
    service: str = "71020^XR CHEST 2 VIEWS^L",
    observed: str = "20240105103000",
    section: str = "RAD",
    status: str = "F",
) -> str:
    fields = [""] * 26
    fields[0], fields[1], fields[2], fields[3], fields[4] = "OBR", str(set_id), placer, filler, service
    fields[7], fields[24], fields[25] = observed, section, status
    return "|".join(fields)


def obx(set_id: int | str, value: str, value_type: str = "TX", status: str = "F", sub_id: str = "") -> str:
    return f"OBX|{set_id}|{value_type}|&GDT^Report Text^L|{sub_id}|{value}||||||{status}"


def oru(*segments: str, control: str = "MSG1", sep: str = "\r", charset: str = "") -> str:
    return sep.join([msh("ORU^R01", control, charset), PID, *segments]) + sep


def mdm(*segments: str, trigger: str = "T02", control: str = "DOC1") -> str:
    txa = "TXA|1|DI|TX|20240106080000||20240106090000||||||UDN77|||||AU"
    return "\r".join([msh(f"MDM^{trigger}", control), "EVN|T02|20240106090000", PID, "PV1|1|O", txa, *segments]) + "\r"


def read(text: str) -> list[Item]:
    return list(parse_hl7_messages(text, source="in.hl7"))


def docs(items: Iterable[Item]) -> list[Document]:
    return [i for i in items if isinstance(i, Document)]


def errors(items: Iterable[Item]) -> list[InputError]:
    return [i for i in items if isinstance(i, InputError)]


def only_doc(items: list[Item]) -> Document:
    assert len(items) == 1, items
    assert isinstance(items[0], Document), items[0]
    return items[0]


def only_error(items: list[Item]) -> InputError:
    assert len(items) == 1, items
    assert isinstance(items[0], InputError), items[0]
    return items[0]


FIVE_LINES = oru(
    obr(),
    obx(1, "EXAM: XR chest 2 views"),
    obx(2, "FINDINGS: Heart size normal.\\.br\\Lungs clear \\T\\ no effusion."),
    obx(3, "Pressure 5\\S\\2 \\F\\ ratio \\R\\ 3 \\E\\ done"),
    obx(4, ""),
    obx(5, "IMPRESSION: No acute cardiopulmonary process.~Follow-up as needed."),
)


# --- ORU^R01 ----------------------------------------------------------------------------------------------------


def test_oru_text_joins_obx_lines_repetitions_and_unescapes() -> None:
    doc = only_doc(read(FIVE_LINES))
    assert doc.text == (
        "EXAM: XR chest 2 views\n"
        "FINDINGS: Heart size normal.\nLungs clear & no effusion.\n"
        "Pressure 5^2 | ratio ~ 3 \\ done\n"
        "\n"
        "IMPRESSION: No acute cardiopulmonary process.\nFollow-up as needed."
    )


def test_oru_record_fields_come_from_obr_pid_and_msh() -> None:
    doc = only_doc(read(FIVE_LINES))
    assert (doc.id, doc.kind, doc.patient_id, doc.date, doc.source) == (
        "ACC1@MSG1",
        "radiology",
        "MRN001",
        dt.datetime(2024, 1, 5, 10, 30),
        "in.hl7:1",
    )
    assert doc.meta == {
        "format": "hl7v2",
        "message_type": "ORU^R01",
        "message_control_id": "MSG1",
        "hl7_version": "2.5.1",
        "accession": "ACC1",
        "placer_order_number": "PLC1",
        "filler_order_number": "ACC1",
        "universal_service_id": {"code": "71020", "text": "XR CHEST 2 VIEWS", "system": "L"},
        "diagnostic_service_section": "RAD",
        "result_status": "F",
    }


def test_multi_obr_oru_gives_one_document_per_report_in_order() -> None:
    text = oru(
        obr(1, filler="ACC1"),
        obx(1, "Chest: clear."),
        obr(2, filler="ACC2", service="88305^SURG PATH^L", section="SP"),
        obx(1, "Benign skin."),
        "NTE|1||Reviewed by second pathologist.",
    )
    first, second = (only_doc([d]) for d in read(text))
    assert [(first.id, first.kind, first.text), (second.id, second.kind, second.text)] == [
        ("ACC1@MSG1", "radiology", "Chest: clear."),
        ("ACC2@MSG1", "pathology", "Benign skin.\nReviewed by second pathologist."),
    ]


def test_each_report_takes_the_patient_of_the_pid_before_it() -> None:
    text = oru(obr(1, filler="A1"), obx(1, "One."), "PID|1||MRN002", obr(1, filler="A2"), obx(1, "Two."))
    assert [d.patient_id for d in docs(read(text))] == ["MRN001", "MRN002"]


def test_obx_in_set_id_order_when_sent_out_of_order() -> None:
    doc = only_doc(read(oru(obr(), obx(2, "second"), "NTE|1||note on second", obx(1, "first"))))
    assert doc.text == "first\nsecond\nnote on second"


def test_restarted_set_ids_keep_the_order_sent() -> None:
    text = oru(obr(), obx(1, "findings a", sub_id="1"), obx(1, "impression a", sub_id="2"), obx(2, "impression b"))
    assert only_doc(read(text)).text == "findings a\nimpression a\nimpression b"


def test_add_segment_continues_the_obx_value_before_it() -> None:
    doc = only_doc(read(oru(obr(), obx(1, "The heart is norm"), "ADD|al in size.", obx(2, "End."))))
    assert doc.text == "The heart is normal in size.\nEnd."


@pytest.mark.parametrize(
    ("value_type", "value", "expected"),
    [
        ("ST", "Short text \\T\\ more", "Short text & more"),
        ("FT", "Line one\\.br\\Line two", "Line one\nLine two"),
        ("CE", "R91.8^Lung nodule^I10", "Lung nodule"),
        ("CWE", "R91.8^^I10^^Alt text", "Alt text"),
        ("CE", "R91.8^^I10", "R91.8"),
        ("", "No value type given", "No value type given"),
    ],
)
def test_text_value_types_are_read(value_type: str, value: str, expected: str) -> None:
    assert only_doc(read(oru(obr(), obx(1, value, value_type)))).text == expected


def test_numeric_and_deleted_obx_add_no_text() -> None:
    text = oru(obr(), obx(1, "12", "NM"), obx(2, "kept"), obx(3, "struck", status="D"), obx(4, "wrong", status="W"))
    assert only_doc(read(text)).text == "kept"


def test_bare_newline_inside_a_carriage_return_file_stays_in_the_field() -> None:
    text = oru(obr(), obx(1, "FINDINGS: first line\nsecond line\n\nthird after blank"), obx(2, "next"))
    assert only_doc(read(text)).text == "FINDINGS: first line\nsecond line\n\nthird after blank\nnext"


@pytest.mark.parametrize(
    ("section", "service", "kind"),
    [
        ("CT", "", "radiology"),
        ("RUS", "", "radiology"),
        ("MR", "", "radiology"),
        ("sp", "", "pathology"),
        ("CP", "", "pathology"),
        ("LAB", "", "note"),
        ("PT", "", "note"),  # Table 0074 PT is Physical Therapy, not PET
        ("", "18748-4^Diagnostic imaging study^LN", "radiology"),
        ("", "LOCAL1^Local^L^11526-1^Pathology study^LN", "pathology"),
        ("", "18748-4^Diagnostic imaging study^L", "note"),
    ],
)
def test_kind_from_service_section_then_loinc_service_id(section: str, service: str, kind: str) -> None:
    assert only_doc(read(oru(obr(section=section, service=service), obx(1, "x")))).kind == kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024", None),
        ("202401", None),
        ("20240105", dt.date(2024, 1, 5)),
        ("2024010510", dt.datetime(2024, 1, 5, 10)),
        ("202401051030", dt.datetime(2024, 1, 5, 10, 30)),
        ("20240105103015.25", dt.datetime(2024, 1, 5, 10, 30, 15, 250000)),
        ("20240105103015-0500", dt.datetime(2024, 1, 5, 10, 30, 15, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
        ("20240105103000^S", dt.datetime(2024, 1, 5, 10, 30)),  # old TS with degree of precision
        ("20241305", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_observation_date_time_precision(value: str, expected: dt.date | None) -> None:
    assert only_doc(read(oru(obr(observed=value), obx(1, "x")))).date == expected


@pytest.mark.parametrize(
    ("placer", "filler", "control", "expected"),
    [
        ("PLC1", "ACC1", "MSG1", "ACC1@MSG1"),
        ("PLC1", "", "MSG1", "PLC1@MSG1"),
        ("", "", "MSG1", "MSG1#1"),
        ("", "ACC1", "", "ACC1"),
    ],
)
def test_record_id_is_order_number_at_control_id(placer: str, filler: str, control: str, expected: str) -> None:
    assert only_doc(read(oru(obr(placer=placer, filler=filler), obx(1, "x"), control=control))).id == expected


def test_same_accession_twice_in_one_message_gets_unique_ids() -> None:
    ids = [d.id for d in docs(read(oru(obr(1), obx(1, "a"), obr(2), obx(1, "b"))))]
    assert ids == ["ACC1@MSG1", "ACC1@MSG1#2"]


def test_hex_escape_is_decoded_with_the_message_character_set() -> None:
    assert only_doc(read(oru(obr(), obx(1, "Caf\\XC3A9\\ \\H\\bold\\N\\")))).text == "Café bold"


# --- MDM --------------------------------------------------------------------------------------------------------


def test_mdm_t02_gives_one_document_from_txa_and_obx() -> None:
    doc = only_doc(read(mdm(obx(1, "CT HEAD: no hemorrhage."), obx(2, "No mass effect."))))
    assert (doc.id, doc.kind, doc.patient_id, doc.date, doc.text) == (
        "UDN77@DOC1",
        "radiology",
        "MRN001",
        dt.datetime(2024, 1, 6, 8, 0),
        "CT HEAD: no hemorrhage.\nNo mass effect.",
    )
    assert doc.meta["document_type"] == "DI"
    assert doc.meta["message_type"] == "MDM^T02"


def test_mdm_without_txa4_dates_from_txa6_and_kind_from_obr24() -> None:
    txa = "TXA|1|CN|TX|||20240107090000||||||UDN78"
    text = "\r".join([msh("MDM^T02", "DOC2"), PID, obr(section="CT"), txa, obx(1, "Consult text.")])
    doc = only_doc(read(text))
    assert (doc.id, doc.kind, doc.date) == ("UDN78@DOC2", "radiology", dt.datetime(2024, 1, 7, 9, 0))


def test_mdm_notification_without_content_is_ml102() -> None:
    error = only_error(read(mdm(trigger="T01")))
    assert (error.code, error.line) == ("ML102", 1)
    assert "notification" in error.message


# --- framing: separators, MLLP, batches ---------------------------------------------------------------------------


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n"])
def test_segment_separators_give_the_same_documents_and_msh_lines(sep: str) -> None:
    first = oru(obr(), obx(1, "One."), obx(2, "Two."), control="M1", sep=sep)
    second = oru(obr(filler="ACC2"), obx(1, "Three."), control="M2", sep=sep)
    items = read(first + sep + second)
    assert [(d.id, d.text, d.source) for d in docs(items)] == [
        ("ACC1@M1", "One.\nTwo.", "in.hl7:1"),
        ("ACC2@M2", "Three.", "in.hl7:7"),
    ]
    assert not errors(items)


def test_mllp_framed_messages_are_all_read() -> None:
    frames = [f"\x0b{oru(obr(filler=f'A{i}'), obx(1, f'Report {i}.'), control=f'M{i}')}\x1c\r" for i in range(3)]
    assert [d.id for d in docs(read("".join(frames)))] == ["A0@M0", "A1@M1", "A2@M2"]


def test_truncated_mllp_frame_is_ml104_and_the_next_frame_still_reads() -> None:
    cut = "\x0b" + msh(control="M1") + "\r" + PID + "\r" + obr() + "\rOBX|1|TX|||FINDINGS: hea"
    good = "\x0b" + oru(obr(filler="A2"), obx(1, "Fine."), control="M2") + "\x1c\r"
    items = read(cut + good)
    error, doc = items
    assert isinstance(error, InputError)
    assert (error.code, error.line) == ("ML104", 1)
    assert isinstance(doc, Document)
    assert doc.id == "A2@M2"


def test_batch_file_reads_every_message() -> None:
    body = oru(obr(), obx(1, "One."), control="M1") + oru(obr(filler="A2"), obx(1, "Two."), control="M2")
    text = "FHS|^~\\&|RIS\rBHS|^~\\&|RIS\r" + body + "BTS|2\rFTS|1\r"
    items = read(text)
    assert [d.id for d in docs(items)] == ["ACC1@M1", "A2@M2"]
    assert not errors(items)


def test_batch_count_mismatch_is_ml104_but_messages_still_read() -> None:
    text = "BHS|^~\\&|RIS\r" + oru(obr(), obx(1, "One.")) + "BTS|3\r"
    items = read(text)
    assert len(docs(items)) == 1
    [error] = errors(items)
    assert (error.code, error.line) == ("ML104", 6)


def test_batch_without_trailer_is_ml104_on_its_header_line() -> None:
    items = read("\r\nBHS|^~\\&|RIS\r" + oru(obr(), obx(1, "One.")))
    [error] = errors(items)
    assert (error.code, error.line) == ("ML104", 2)
    assert len(docs(items)) == 1


# --- malformed messages -------------------------------------------------------------------------------------------


def _with_msh(first: str) -> str:
    return "\r".join([first, PID, obr(), obx(1, "x")])


MALFORMED = [
    pytest.param("just some text\nwith lines\n", "ML104", 1, id="no-msh"),
    pytest.param("", "ML102", None, id="empty"),
    pytest.param("\r\n\r\n", "ML102", None, id="blank"),
    pytest.param(_with_msh(msh("ADT^A01")), "ML105", 1, id="wrong-type"),
    pytest.param(_with_msh(msh("")), "ML104", 1, id="no-msh9"),
    pytest.param(_with_msh("MSH ^~\\& RIS"), "ML104", 1, id="space-field-separator"),
    pytest.param(_with_msh("MSH|^~|RIS|||||ORU^R01|M1|P|2.5.1"), "ML104", 1, id="two-encoding-chars"),
    pytest.param(_with_msh("MSH|^^\\&|RIS|||||ORU^R01|M1|P|2.5.1"), "ML104", 1, id="repeated-encoding-char"),
    pytest.param("MSH|^~\\&", "ML104", 1, id="msh-cut-after-msh2"),
    pytest.param("\r".join([msh(), PID, "OBX|1|TX|||x"]), "ML104", 1, id="no-obr"),
    pytest.param("\r".join([msh(), PID, "OBX|1|TX|||x", obr()]), "ML104", 1, id="obx-before-obr"),
    pytest.param("\r".join([msh(), PID, obr(), obx(1, "12", "NM")]), "ML102", 1, id="no-text"),
    pytest.param("\r".join([msh(), PID, obr(), obx(1, "  ")]), "ML102", 1, id="blank-text"),
    pytest.param("\r".join([msh(), PID, obr(), obx(1, "a"), "DSC|CONT1"]), "ML104", 1, id="continued"),
    pytest.param("\n".join([msh(), PID, obr(), "free text line", obx(1, "a")]), "ML104", 1, id="not-a-segment"),
    pytest.param("\r".join([msh("MDM^T02"), PID, obx(1, "a")]), "ML104", 1, id="mdm-no-txa"),
    pytest.param("\r".join([msh(control=""), PID, obr(placer="", filler=""), obx(1, "a")]), "ML104", 1, id="no-id"),
]


@pytest.mark.parametrize(("text", "code", "line"), MALFORMED)
def test_malformed_message_is_one_coded_error_on_its_msh_line(text: str, code: str, line: int | None) -> None:
    error = only_error(read(text))
    assert (error.code, error.source, error.line) == (code, "in.hl7", line)


@pytest.mark.parametrize(("text", "code", "line"), MALFORMED)
def test_errors_never_quote_message_content(text: str, code: str, line: int | None) -> None:
    secret = text.replace("MRN001", SECRET).replace("|x", f"|{SECRET}").replace("ACC1", SECRET)
    secret = secret.replace("some text", SECRET).replace("free text", SECRET).replace("|a", f"|{SECRET}")
    for item in read(secret):
        assert isinstance(item, InputError)
        assert SECRET not in str(item)


def test_one_bad_message_does_not_stop_the_good_ones() -> None:
    good1 = oru(obr(filler="A1"), obx(1, "One."), control="M1", sep="\n")
    bad = "\n".join([msh("ADT^A08", "M2"), PID]) + "\n"
    cut = "\n".join([msh(control="M3"), PID, obr(filler="A3"), obx(1, "12", "NM")]) + "\n"
    good2 = oru(obr(filler="A4"), obx(1, "Four."), control="M4", sep="\n")
    items = read(good1 + bad + cut + good2)
    assert [(type(i).__name__, getattr(i, "code", None), getattr(i, "line", None)) for i in items] == [
        ("Document", None, None),
        ("InputError", "ML105", 5),
        ("InputError", "ML102", 7),
        ("Document", None, None),
    ]


def test_lines_before_the_first_msh_are_one_ml104_then_the_message_reads() -> None:
    items = read("junk line\nmore junk\n" + oru(obr(), obx(1, "One."), sep="\n"))
    error, doc = items
    assert isinstance(error, InputError)
    assert (error.code, error.line) == ("ML104", 1)
    assert isinstance(doc, Document)
    assert doc.source == "in.hl7:3"


# --- files and character sets -----------------------------------------------------------------------------------


def test_read_hl7_decodes_by_msh18(tmp_path: Path) -> None:
    path = tmp_path / "latin.hl7"
    path.write_bytes(oru(obr(), obx(1, "Épanchement pleural."), charset="8859/1").encode("latin-1"))
    assert only_doc(list(read_hl7(path))).text == "Épanchement pleural."


def test_non_utf8_without_msh18_is_ml101_with_byte_offset_and_next_message_reads(tmp_path: Path) -> None:
    bad = oru(obr(), obx(1, "Épanchement."), control="M1").encode("latin-1")
    good = oru(obr(filler="A2"), obx(1, "Fine."), control="M2").encode("utf-8")
    path = tmp_path / "mixed.hl7"
    path.write_bytes(bad + good)
    error, doc = list(read_hl7(path))
    assert isinstance(error, InputError)
    assert (error.code, error.line) == ("ML101", 1)
    offset = bad.index("É".encode("latin-1"))
    assert f"byte offset {offset}" in error.message
    assert isinstance(doc, Document)
    assert doc.source == f"{path}:5"


def test_undecodable_bytes_can_be_replaced_on_request(tmp_path: Path) -> None:
    path = tmp_path / "r.hl7"
    path.write_bytes(oru(obr(), obx(1, "Caf\xe9.")).encode("latin-1"))
    assert only_doc(list(read_hl7(path, encoding_errors="replace"))).text == "Caf\ufffd."


def test_unsupported_msh18_is_ml101(tmp_path: Path) -> None:
    path = tmp_path / "u16.hl7"
    path.write_bytes(oru(obr(), obx(1, "x"), charset="UNICODE UTF-16").encode("ascii"))
    error = only_error(list(read_hl7(path)))
    assert (error.code, error.line) == ("ML101", 1)


def test_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.hl7"
    path.write_bytes(b"\xef\xbb\xbf" + oru(obr(), obx(1, "x")).encode("utf-8"))
    assert only_doc(list(read_hl7(path))).source == f"{path}:1"


def test_missing_and_oversized_files_are_coded(tmp_path: Path) -> None:
    assert only_error(list(read_hl7(tmp_path / "none.hl7"))).code == "ML108"
    path = tmp_path / "big.hl7"
    path.write_text(FIVE_LINES, encoding="ascii")
    assert only_error(list(read_hl7(path, max_bytes=10))).code == "ML107"


def test_missing_python_hl7_is_ml501_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hl7", None)
    with pytest.raises(MissingDependencyError) as caught:
        list(parse_hl7_messages(FIVE_LINES, source="in.hl7"))
    assert caught.value.code == "ML501"
    assert "medlens[hl7]" in caught.value.message


def test_character_set_rows_must_name_a_python_codec() -> None:
    with pytest.raises(ValidationError):
        Hl7CharacterSet(code="X", codec="no-such-codec")


def test_extensions_and_tables_load() -> None:
    tables = hl7_tables()
    assert HL7_EXTENSIONS == (".hl7", ".er7")
    for rows in (tables.service_sections, tables.document_types, tables.universal_service_codes):
        codes = [r.code.upper() for r in rows]
        assert len(codes) == len(set(codes))
    assert {"RAD", "CT", "SP"} <= {r.code for r in tables.service_sections if r.source == "v2-0074"}


# --- escape sequences -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", "a|b^c&d~e\\f"),
        ("one\\.br\\two", "one\ntwo"),
        ("one\\.sp\\two", "one\n\ntwo"),
        ("one\\.sp2\\two", "one\n\n\ntwo"),
        ("a\\.sk3\\b", "a   b"),
        ("\\.ce\\Title", "\nTitle"),
        ("\\.in+4\\\\.ti2\\x\\.fi\\\\.nf\\", "x"),
        ("\\H\\bold\\N\\ normal", "bold normal"),
        ("\\X41\\\\X0D0A\\", "A\r\n"),
        ("\\XC3A9\\", "é"),
        ("\\XE9\\", "é"),  # not valid UTF-8: read as ISO-8859-1
        ("\\C2842\\x\\M248440\\\\Zlocal\\", "x"),
        ("C:\\path\\file", "C:\\path\\file"),  # not an escape: kept
        ("trailing \\", "trailing \\"),
        ("\\.sp99999999\\", "\n" * 101),  # capped
        ("no escapes", "no escapes"),
    ],
)
def test_unescape_table(escaped: str, plain: str) -> None:
    assert unescape_hl7(escaped) == plain


def test_unescape_uses_the_declared_delimiters() -> None:
    delimiters = parse_delimiters("MSH#*!$%@#")
    assert delimiters == Delimiters("#", "*", "!", "$", "%", "@")
    assert unescape_hl7("a$F$b$S$c$P$", delimiters) == "a#b*c@"


# --- properties -------------------------------------------------------------------------------------------------

_BLANK_EDGES = re.compile(r"\A(?:[ \t]*\n)+|(?:\n[ \t]*)+\Z")


def _hl7_escape(text: str) -> str:
    """Independent HL7 escaping for the round trip: delimiters, newlines and non-ASCII as UTF-8 hex."""
    named = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\", "\n": "\\.br\\"}
    out = []
    for char in text:
        if char in named:
            out.append(named[char])
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\X{char.encode('utf-8').hex().upper()}\\")
    return "".join(out)


def _check(items: list[Item]) -> None:
    for item in items:
        assert isinstance(item, Document | InputError)
        if isinstance(item, Document):
            assert item.text.strip()
        else:
            assert item.code in CODES


_lines = st.lists(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=40), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_lines, min_size=1, max_size=4))
def test_round_trip_of_escaped_text(lines: list[list[str]]) -> None:
    segments = [obx(i, "~".join(_hl7_escape(line) for line in value)) for i, value in enumerate(lines, start=1)]
    expected = _BLANK_EDGES.sub("", "\n".join("\n".join(value) for value in lines))
    items = read(oru(obr(), *segments))
    if expected.strip():
        assert only_doc(items).text == expected
    else:
        assert only_error(items).code == "ML102"


_noise = st.text(st.sampled_from(list("|^~\\&\r\n\x0b\x1cMSHOBRXTAP01 .#")) | st.characters(), max_size=6)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    _check(read(text))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_valid_messages_never_raise(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([FIVE_LINES, mdm(obx(1, "a"), obx(2, "b")), "\x0b" + FIVE_LINES + "\x1c\r"]))
    text = base
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 8)))
        text = text[:start] + data.draw(_noise) + text[end:]
    _check(read(text))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300) | st.sampled_from([FIVE_LINES.encode(), mdm(obx(1, "a")).encode()]))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.hl7"
        path.write_bytes(data)
        items = list(read_hl7(path))
    _check(items)
