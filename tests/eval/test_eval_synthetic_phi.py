"""The synthetic gold-PHI note generator: exact offsets, determinism, coverage, traps."""

from __future__ import annotations

import importlib.util
import ipaddress
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from medlens.core.lexicon import read_lexicon_text
from medlens.eval import synthetic_phi
from medlens.eval.synthetic_phi import PHI_TYPES, TRAP_KINDS, GoldNote, generate


@pytest.fixture(scope="module")
def notes() -> list[GoldNote]:
    return generate(500, seed=0)


@pytest.fixture(scope="module")
def plain(notes: list[GoldNote]) -> list[GoldNote]:
    return [n for n in notes if not n.variants]


def _spans_of(notes: list[GoldNote], type_: str) -> list[str]:
    return [s.text for n in notes for s in n.spans if s.type == type_]


def test_span_offsets_give_the_inserted_value(notes):
    for note in notes:
        for span in note.spans:
            assert note.text[span.start : span.end] == span.text


def test_spans_have_no_outer_whitespace(notes):
    for note in notes:
        for span in note.spans:
            assert span.text
            assert span.text == span.text.strip()


def test_same_seed_gives_same_notes():
    assert generate(30, seed=7) == generate(30, seed=7)


def test_different_seed_gives_different_notes():
    assert [n.text for n in generate(10, seed=1)] != [n.text for n in generate(10, seed=2)]


def test_note_does_not_depend_on_n():
    assert generate(5, seed=3) == generate(40, seed=3)[:5]


def test_every_phi_type_appears_in_500_notes(notes):
    assert {s.type for n in notes for s in n.spans} == set(PHI_TYPES)


def test_every_trap_kind_appears_in_500_notes(notes):
    assert {t.kind for n in notes for t in n.traps} == set(TRAP_KINDS)


def test_every_template_and_variant_appears_in_500_notes(notes):
    names = [t["name"] for t in yaml.safe_load(read_lexicon_text("medlens.eval", "synthetic_phi.yaml"))["templates"]]
    assert {n.template for n in notes} == set(names)
    assert {n.variants for n in notes} == {(), ("caps",), ("ocr",), ("caps", "ocr")}


def test_gold_spans_are_sorted_and_do_not_overlap(notes):
    for note in notes:
        for a, b in zip(note.spans, note.spans[1:], strict=False):
            assert a.end <= b.start


def test_traps_carry_no_gold_span(notes):
    for note in notes:
        for trap in note.traps:
            assert trap.end > trap.start
            assert not any(s.start < trap.end and trap.start < s.end for s in note.spans), (note.id, trap)


def test_caps_notes_are_upper_case(notes):
    caps = [n for n in notes if n.variants == ("caps",)]  # OCR noise may read a capital I as l
    assert caps
    assert all(n.text == n.text.upper() for n in caps)


def test_ocr_notes_contain_swapped_characters(notes):
    ocr_names = [s.text for n in notes if "ocr" in n.variants for s in n.spans if s.type == "NAME"]
    assert any(re.search(r"[a-z][01]|[01][a-z]|\w \w", t) for t in ocr_names)


def test_titles_and_credentials_are_outside_name_spans(plain):
    for note in plain:
        for m in re.finditer(r"\bDr\. ", note.text):
            assert any(s.type == "NAME" and s.start == m.end() for s in note.spans), note.id
        for span in note.spans:
            if span.type == "NAME":
                assert not re.search(r"\b(Dr|Mr|Mrs|Ms)\.|\b(MD|RN|DO|NP)\b", span.text), span.text


@pytest.mark.parametrize(
    ("type_", "check"),
    [
        ("EMAIL", lambda t: re.fullmatch(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", t)),
        ("PHONE", lambda t: len(re.sub(r"\D", "", re.split(r" ?(ext|x)", t)[0])) in (10, 11)),
        ("FAX", lambda t: len(re.sub(r"\D", "", re.split(r" ?(ext|x)", t)[0])) in (10, 11)),
        ("SSN", lambda t: len(re.sub(r"\D", "", t)) == 9),
        ("ZIP", lambda t: re.fullmatch(r"\d{5}(-\d{4})?", t)),
        ("AGE", lambda t: int(t) >= 90),
        ("IP", lambda t: ipaddress.ip_address(t)),
        ("URL", lambda t: re.match(r"(https?://|www\.)", t)),
        ("DATE", lambda t: re.search(r"\d", t)),
        ("NAME", lambda t: re.fullmatch(r"[A-Z][\w'.-]*(,? ?[A-Z][\w'.-]*)*", t)),
    ],
)
def test_values_have_the_shape_of_their_type(plain, type_, check):
    values = _spans_of(plain, type_)
    assert values
    bad = [v for v in values if not check(v)]
    assert not bad, bad[:5]


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\d{1,2}/\d{1,2}$",  # 3/4
        r"^\d{2}-\d{2}-\d{4}$",  # 03-04-2021
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}",  # 2021-03-04T10:00
        r"^[A-Z][a-z]{2} \d{1,2}(st|nd|rd|th)$",  # Jan 5th
        r"^\d{1,2} [A-Z][a-z]+ \d{4}$",  # 5 January 2021
        r"^\d{1,2}(st|nd|rd|th) of [A-Z][a-z]+$",  # (the) 2nd of March
        r"^[A-Z][a-z]+ \d{4}$",  # March 2021
        r"^(Spring|Summer|Fall|Winter) \d{4}$",  # Spring 2019
        r"^\d{8}$",  # 20210304
        r"^\d{2}-[A-Z]{3}-\d{4}$",  # 05-JAN-2021
    ],
)
def test_date_format_appears(plain, pattern):
    assert any(re.search(pattern, d) for d in _spans_of(plain, "DATE"))


@pytest.mark.parametrize(
    "word", ["Hope", "Will", "Brown", "Grant", "Rose", "Bill", "May", "Young", "White", "Mark", "Faith", "Hunter"]
)
def test_common_word_names_are_labelled_as_names(notes, word):
    names = _spans_of([n for n in notes if not n.variants], "NAME")
    assert any(word in re.split(r"[ ,]+", name) for name in names)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("EPONYM", "Parkinson disease"),
        ("EPONYM", "Foley catheter"),
        ("EPONYM", "Hodgkin lymphoma"),
        ("EPONYM", "Apgar score"),
        ("MEASURE", "2/6 systolic murmur"),
        ("MEASURE", "5/5"),
        ("MEASURE", "BP 120/80"),
        ("WORD", "will"),
        ("WORD", "brown"),
        ("DURATION", "for 20 years"),
    ],
)
def test_trap_is_recorded_with_its_kind(plain, kind, text):
    assert any(note.text[t.start : t.end] == text and t.kind == kind for note in plain for t in note.traps)


def test_common_words_also_appear_as_names_and_as_traps(plain):
    names = {s.text for n in plain for s in n.spans if s.type == "NAME"}
    traps = {n.text[t.start : t.end].lower() for n in plain for t in n.traps if t.kind == "WORD"}
    assert any("Will" in name.split() for name in names)
    assert "will" in traps


def test_lexicon_rejects_unknown_keys():
    data = yaml.safe_load(read_lexicon_text("medlens.eval", "synthetic_phi.yaml"))
    data["surprise"] = 1
    with pytest.raises(ValidationError):
        synthetic_phi._Lexicon.model_validate(data)


def test_lexicon_rejects_trap_brackets_in_templates():
    data = yaml.safe_load(read_lexicon_text("medlens.eval", "synthetic_phi.yaml"))
    data["templates"][0]["text"] += "[oops]"
    with pytest.raises(ValidationError):
        synthetic_phi._Lexicon.model_validate(data)


def test_every_slot_used_by_the_lexicon_exists():
    synthetic_phi._lexicon.cache_clear()
    assert synthetic_phi._lexicon().templates


@pytest.fixture(scope="module")
def deid_benchmark():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "deid_accuracy.py"
    spec = importlib.util.spec_from_file_location("deid_accuracy", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_scores_gold_spans_as_perfect(notes, deid_benchmark):
    predictions = [[(s.start, s.end, s.type, 1.0) for s in n.spans] for n in notes[:100]]
    overall = deid_benchmark.score("medlens", notes[:100], predictions)["overall"]
    assert overall["precision"] == overall["recall"] == overall["char_precision_any"] == 1.0


def test_benchmark_counts_a_wrong_type_only_in_any_phi_recall(notes, deid_benchmark):
    predictions = [[(s.start, s.end, "URL", 1.0) for s in n.spans if s.type == "NAME"] for n in notes[:50]]
    name = deid_benchmark.score("medlens", notes[:50], predictions)["per_type"]["NAME"]
    assert name["recall"] == 0.0
    assert name["recall_any"] == 1.0


def test_benchmark_finds_a_name_predicted_with_its_title(plain, deid_benchmark):
    note = next(n for n in plain if "Dr. " in n.text)
    predictions = [
        [
            (s.start - 4 if note.text[s.start - 4 : s.start] == "Dr. " else s.start, s.end, s.type, 1.0)
            for s in note.spans
        ]
    ]
    overall = deid_benchmark.score("medlens", [note], predictions)["overall"]
    assert overall["recall"] == 1.0
    assert overall["precision"] == 1.0
