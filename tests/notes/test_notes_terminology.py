"""Phrase matcher (pyahocorasick) and the notes lexicons: offsets, word boundaries, case, validity of every row."""

from __future__ import annotations

import re
import warnings
from collections import defaultdict

import pytest

from medlens.core.errors import ConfigError
from medlens.notes import lexicon_models
from medlens.notes.lexicon_models import (
    derive_title_synonym,
    load_abbreviation_rules,
    load_allergy_lexicon,
    load_medication_lexicon,
    load_problem_lexicon,
    load_procedure_lexicon,
    load_sig_lexicon,
)
from medlens.notes.terminology import (
    PhraseMatcher,
    aligned_lower,
    phrase_variants,
    plural_variants,
    word_key,
)


@pytest.fixture(scope="module")
def icd():
    with warnings.catch_warnings():
        # simple_icd_10_cm 1.5 reads its data with the deprecated importlib.resources.read_text.
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def _matcher(*phrases: tuple[str, int] | tuple[str, int, bool]) -> PhraseMatcher[int]:
    m: PhraseMatcher[int] = PhraseMatcher()
    for p in phrases:
        m.add(p[0], p[1], case_sensitive=len(p) > 2 and bool(p[2]))
    m.build()
    return m


def _spans(matcher: PhraseMatcher[int], text: str) -> list[tuple[int, int, tuple[int, ...]]]:
    return [(x.start, x.end, x.values) for x in matcher.find(text)]


# ---------------------------------------------------------------------------------------------------- matcher


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("History of heart failure.", [(11, 24, (1,))]),
        ("HISTORY OF HEART FAILURE", [(11, 24, (1,))]),
        ("congestive heart failure", [(0, 24, (2,))]),
        ("congestive heart\nfailure", [(0, 24, (2,))]),
        ("heart failures", []),
        ("preheart failure", []),
        ("heart failure, heart failure", [(0, 13, (1,)), (15, 28, (1,))]),
        ("(heart failure)", [(1, 14, (1,))]),
    ],
)
def test_matcher_finds_leftmost_longest_word_bounded_spans(text, expected):
    m = _matcher(("heart failure", 1), ("congestive heart failure", 2), ("heart", 3))
    found = _spans(m, text)
    assert [f for f in found if f[2] != (3,)] == expected
    for start, end, _ in found:
        assert text[start:end].lower().split() == text[start:end].lower().split()


def test_matcher_prefers_the_longer_phrase_at_the_same_start():
    m = _matcher(("chest", 1), ("chest pain", 2))
    assert _spans(m, "acute chest pain") == [(6, 16, (2,))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hx CAD.", [(3, 6, (1,))]),
        ("HX CAD", [(3, 6, (1,))]),
        ("he has cad", []),
        ("Cad", []),
    ],
)
def test_case_sensitive_phrase_matches_as_written_or_in_capitals(text, expected):
    assert _spans(_matcher(("CAD", 1, True)), text) == expected


def test_case_sensitive_and_insensitive_values_share_a_key():
    m = _matcher(("SOB", 1, True), ("sob", 2))
    assert _spans(m, "SOB") == [(0, 3, (1, 2))]
    assert _spans(m, "sob") == [(0, 3, (2,))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("s/p D&C.", [(4, 7, (1,))]), ("d&c", [(0, 3, (1,))]), ("D/C home", []), ("D C", [])],
)
def test_punctuation_inside_a_phrase_must_match(text, expected):
    assert _spans(_matcher(("D&C", 1)), text) == expected


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("\u0130\u0130 hypertension", 3, 15),  # U+0130 lower-cases to two code points
        ("ﬁ hypertension \u0130", 2, 14),
        ("\u00a0hypertension\u00a0", 1, 13),
        ("ΣΑΣ hypertension", 4, 16),
        ("😀 hypertension", 2, 14),
    ],
)
def test_offsets_index_the_original_text_when_lower_changes_length(text, start, end):
    found = _matcher(("hypertension", 1)).find(text)
    assert [(f.start, f.end) for f in found] == [(start, end)]
    assert text[start:end] == "hypertension"


def test_word_key_and_aligned_lower_keep_one_character_per_character():
    for text in ["İstanbul\tCAD", "ǅemal ẞ ß µ ﬃ", "Type-2 DM, (HTN).", "\u0130" * 5]:
        assert len(word_key(text)) == len(text)
        assert len(aligned_lower(text)) == len(text)


@pytest.mark.parametrize("code", range(256))
def test_latin1_fast_path_agrees_with_the_generic_path(code):
    from medlens.text import phrases as t

    ch = chr(code)
    assert word_key(ch) == t._NOT_WORD.sub(" ", t._unicode_lower(ch))
    assert aligned_lower(ch) == t._WHITESPACE.sub(" ", t._unicode_lower(ch))


def test_empty_matcher_finds_nothing():
    assert PhraseMatcher().find("anything at all") == []


def test_phrase_without_letters_or_digits_is_ignored():
    m = _matcher(("--", 1), ("cough", 2))
    assert _spans(m, "-- cough") == [(3, 8, (2,))]


@pytest.mark.parametrize(
    ("phrase", "variants"),
    [
        ("A-fib", ["A-fib", "A fib", "Afib"]),
        ("Retin-A", ["Retin-A", "Retin A"]),
        ("Crohn's disease", ["Crohn's disease", "Crohns disease", "Crohn\u2019s disease"]),
        ("cough", ["cough"]),
    ],
)
def test_phrase_variants(phrase, variants):
    assert phrase_variants(phrase) == variants


@pytest.mark.parametrize(
    ("phrase", "variants"),
    [
        ("pleural effusion", ["pleural effusion", "pleural effusions"]),
        ("biopsy", ["biopsy", "biopsies"]),
        ("kidney stone", ["kidney stone", "kidney stones"]),
        ("diabetes mellitus", ["diabetes mellitus"]),
        ("flu", ["flu"]),
        ("chest x-ray", ["chest x-ray"]),
        ("HERNIA", ["HERNIA", "HERNIAS"]),
        ("rash", ["rash", "rashes"]),
    ],
)
def test_plural_variants(phrase, variants):
    assert plural_variants(phrase) == variants


# ---------------------------------------------------------------------------------------------------- lexicons


def test_every_icd10cm_code_is_valid_and_its_display_is_the_package_title(icd):
    rows = load_problem_lexicon().rows
    assert len([r for r in rows if r.code]) >= 300
    for row in rows:
        if row.code is None:
            continue
        assert icd.is_valid_item(row.code), row.code
        assert row.display == icd.get_description(row.code), row.code


def test_derived_synonyms_are_the_rule_applied_to_the_display():
    for row in load_problem_lexicon().rows:
        for derived in row.derived:
            assert row.display is not None
            assert derived == derive_title_synonym(row.display)


@pytest.mark.parametrize(
    ("title", "synonym"),
    [
        ("Calculus of kidney", "calculus of kidney"),
        ("Essential (primary) hypertension", "essential hypertension"),
        ("Hyperlipidemia, unspecified", "hyperlipidemia"),
        ("Unspecified atrial fibrillation", "atrial fibrillation"),
        ("Other chest pain", None),
        ("Type 2 diabetes mellitus without complications", None),
        ("Pain", None),
    ],
)
def test_derive_title_synonym(title, synonym):
    assert derive_title_synonym(title) == synonym


def test_plain_diabetes_has_no_code():
    rows = {r.preferred: r for r in load_problem_lexicon().rows}
    assert rows["diabetes mellitus"].code is None
    assert "diabetes" in rows["diabetes mellitus"].synonyms
    assert rows["type 2 diabetes mellitus"].code == "E11"


def test_lexicon_headers_name_source_and_licence():
    for lexicon in (load_problem_lexicon(), load_medication_lexicon(), load_procedure_lexicon()):
        assert lexicon.info.source
        assert lexicon.info.licence
        assert lexicon.info.version
    assert "simple-icd-10-cm" in load_problem_lexicon().info.source
    assert "RxNorm" in load_medication_lexicon().info.source
    for yaml_lexicon in (load_allergy_lexicon(), load_abbreviation_rules(), load_sig_lexicon()):
        assert yaml_lexicon.source
        assert yaml_lexicon.licence


def _surface_owners() -> dict[str, set[tuple[str, str]]]:
    owners: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in load_problem_lexicon().rows:
        for p in (r.preferred, *r.synonyms, *r.derived):
            owners[word_key(p)].add(("problem", r.preferred))
    for r in load_medication_lexicon().rows:
        for p in r.names:
            owners[word_key(p)].add(("medication", r.ingredient))
    for r in load_procedure_lexicon().rows:
        for p in (r.preferred, *r.synonyms):
            owners[word_key(p)].add(("procedure", r.preferred))
    return owners


def test_no_surface_form_names_two_concepts():
    clashes = {k: v for k, v in _surface_owners().items() if len(v) > 1}
    assert clashes == {}


def test_gated_and_excluded_abbreviations_are_in_no_lexicon_column():
    rules = load_abbreviation_rules()
    banned = {e.abbr for e in rules.excluded} | {g.abbr for g in rules.gated}
    columns: list[str] = []
    for r in load_problem_lexicon().rows:
        columns += [*r.abbreviations, *r.synonyms, r.preferred]
    for r in load_medication_lexicon().rows:
        columns += [*r.abbreviations, *r.names]
    for r in load_procedure_lexicon().rows:
        columns += [*r.abbreviations, *r.synonyms, r.preferred]
    assert sorted(banned & set(columns)) == []
    assert sorted(b.lower() for b in banned if b.lower() in {c.lower() for c in columns}) == []


def test_gates_point_at_lexicon_concepts():
    problems = {r.preferred for r in load_problem_lexicon().rows}
    medications = {r.ingredient for r in load_medication_lexicon().rows}
    for gate in load_abbreviation_rules().gated:
        assert gate.concept in (problems if gate.lexicon == "problems" else medications)


def test_rxcuis_are_only_filled_for_curated_ingredients():
    rows = load_medication_lexicon().rows
    coded = {r.ingredient: r.rxcui for r in rows if r.rxcui}
    assert coded["metformin"] == "6809"
    assert coded["lisinopril"] == "29046"
    assert coded["acetaminophen"] == "161"
    assert len(set(coded.values())) == len(coded)
    assert len(rows) >= 300


def test_allergy_categories_are_fhir_codes():
    for allergen in load_allergy_lexicon().allergens:
        assert allergen.category in ("medication", "food", "environment")


def test_procedure_lexicon_has_common_procedures():
    names = {r.preferred for r in load_procedure_lexicon().rows}
    for name in ("colonoscopy", "appendectomy", "cholecystectomy", "coronary artery bypass graft", "dialysis"):
        assert name in names


def test_a_tsv_with_wrong_columns_raises_ml205(monkeypatch):
    monkeypatch.setattr(lexicon_models, "_read_text", lambda name: "# source: s\n# licence: l\n# version: 1\na\tb\n")
    with pytest.raises(ConfigError) as info:
        lexicon_models._read_tsv("x.tsv", lexicon_models.ProcedureEntry, frozenset())
    assert info.value.code == "ML205"


def test_a_tsv_row_with_a_bad_code_raises_ml205(monkeypatch):
    body = "# source: s\n# licence: l\n# version: 1\ncode\tdisplay\tpreferred\tsynonyms\tabbreviations\tderived\n"
    body += "not-a-code\tX\tx\t\t\t\n"
    monkeypatch.setattr(lexicon_models, "_read_text", lambda name: body)
    with pytest.raises(ConfigError) as info:
        lexicon_models._read_tsv("x.tsv", lexicon_models.ProblemEntry, frozenset({"synonyms"}))
    assert info.value.code == "ML205"


def test_a_tsv_without_a_source_line_raises_ml205(monkeypatch):
    monkeypatch.setattr(lexicon_models, "_read_text", lambda name: "preferred\tsynonyms\tabbreviations\nx\t\t\n")
    with pytest.raises(ConfigError) as info:
        lexicon_models._read_tsv("x.tsv", lexicon_models.ProcedureEntry, frozenset())
    assert info.value.code == "ML205"


def test_a_yaml_lexicon_with_an_unknown_key_raises_ml205(monkeypatch):
    monkeypatch.setattr(
        lexicon_models,
        "_read_text",
        lambda name: "source: s\nlicence: l\nversion: 1\nroutes: []\nfrequencies: []\nx: 1\n",
    )
    with pytest.raises(ConfigError) as info:
        lexicon_models._read_yaml("x.yaml", lexicon_models.SigLexicon)
    assert info.value.code == "ML205"


def test_gate_regexes_compile():
    for gate in load_abbreviation_rules().gated:
        for pattern in (*gate.require_any, *gate.forbid_any):
            re.compile(pattern)
