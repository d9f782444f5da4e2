"""AJCC 8th edition stage groups: breast (anatomic), colon and rectum, lung.

The expected grids below were written by hand from the manual's stage-group tables, independently of the YAML
files: every T x N x M combination, through every accepted spelling of each category.
"""

from __future__ import annotations

import itertools
import math

import pytest
import yaml
from pydantic import ValidationError

from medlens.core.errors import InputError
from medlens.core.lexicon import read_lexicon_text
from medlens.guidelines.ajcc import AJCC_SITES, AjccSiteTable, load_ajcc_site, normalise_category, stage, t_from_size

# ---------------------------------------------------------------- expected tables (hand-written)

# Breast, ch. 48, anatomic stage groups; columns N0, N1mi, N1, N2, N3 at M0; None = no stage group.
BREAST_M0 = {
    "T0": (None, "IB", "IIA", "IIIA", "IIIC"),
    "Tis": ("0", None, None, None, "IIIC"),
    "T1": ("IA", "IB", "IIA", "IIIA", "IIIC"),
    "T2": ("IIA", "IIB", "IIB", "IIIA", "IIIC"),
    "T3": ("IIB", "IIIA", "IIIA", "IIIA", "IIIC"),
    "T4": ("IIIB", "IIIB", "IIIB", "IIIB", "IIIC"),
}
BREAST_N = ("N0", "N1mi", "N1", "N2", "N3")
BREAST_T_SPELLINGS = {
    "T0": ("T0",),
    "Tis": ("Tis", "Tis(DCIS)", "Tis(Paget)"),
    "T1": ("T1", "T1mi", "T1a", "T1b", "T1c"),
    "T2": ("T2",),
    "T3": ("T3",),
    "T4": ("T4", "T4a", "T4b", "T4c", "T4d"),
}
BREAST_N_SPELLINGS = {
    "N0": ("N0", "N0(i+)", "N0(i-)", "N0(mol+)", "N0(mol-)"),
    "N1mi": ("N1mi",),
    "N1": ("N1", "N1a", "N1b", "N1c"),
    "N2": ("N2", "N2a", "N2b"),
    "N3": ("N3", "N3a", "N3b", "N3c"),
}
BREAST_M_SPELLINGS = {"M0": ("M0", "M0(i+)"), "M1": ("M1",)}

# Colon and rectum, ch. 20; columns N0, N1 (a/b/c), N2a, N2b at M0.
COLORECTAL_M0 = {
    "T0": (None, None, None, None),
    "Tis": ("0", None, None, None),
    "T1": ("I", "IIIA", "IIIA", "IIIB"),
    "T2": ("I", "IIIA", "IIIB", "IIIB"),
    "T3": ("IIA", "IIIB", "IIIB", "IIIC"),
    "T4a": ("IIB", "IIIB", "IIIC", "IIIC"),
    "T4b": ("IIC", "IIIC", "IIIC", "IIIC"),
}
COLORECTAL_N = ("N0", "N1", "N2a", "N2b")
COLORECTAL_N_SPELLINGS = {"N0": ("N0",), "N1": ("N1", "N1a", "N1b", "N1c"), "N2a": ("N2a",), "N2b": ("N2b",)}
COLORECTAL_M1 = {"M1a": "IVA", "M1b": "IVB", "M1c": "IVC"}

# Lung, ch. 36; columns N0, N1, N2, N3 at M0.
LUNG_M0 = {
    "T0": (None, None, None, None),
    "Tis": ("0", None, None, None),
    "T1mi": ("IA1", None, None, None),
    "T1a": ("IA1", "IIB", "IIIA", "IIIB"),
    "T1b": ("IA2", "IIB", "IIIA", "IIIB"),
    "T1c": ("IA3", "IIB", "IIIA", "IIIB"),
    "T2a": ("IB", "IIB", "IIIA", "IIIB"),
    "T2b": ("IIA", "IIB", "IIIA", "IIIB"),
    "T3": ("IIB", "IIIA", "IIIB", "IIIC"),
    "T4": ("IIIA", "IIIA", "IIIB", "IIIC"),
}
LUNG_N = ("N0", "N1", "N2", "N3")
LUNG_T_SPELLINGS = {"Tis": ("Tis", "Tis(AIS)", "Tis(SCIS)")}
LUNG_M1 = {"M1a": "IVA", "M1b": "IVA", "M1c": "IVB"}


def _breast_cases() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for t_cat, t_spellings in BREAST_T_SPELLINGS.items():
        for (n_index, n_cat), m_cat in itertools.product(enumerate(BREAST_N), BREAST_M_SPELLINGS):
            expected = BREAST_M0[t_cat][n_index] if m_cat == "M0" else "IV"
            for t, n, m in itertools.product(t_spellings, BREAST_N_SPELLINGS[n_cat], BREAST_M_SPELLINGS[m_cat]):
                cases.append((t, n, m, expected))
    return cases


def _colorectal_cases() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for t_cat, row in COLORECTAL_M0.items():
        for n_index, n_cat in enumerate(COLORECTAL_N):
            for n in COLORECTAL_N_SPELLINGS[n_cat]:
                cases.append((t_cat, n, "M0", row[n_index]))
                cases.extend((t_cat, n, m, group) for m, group in COLORECTAL_M1.items())
    return cases


def _lung_cases() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for t_cat, row in LUNG_M0.items():
        for t in LUNG_T_SPELLINGS.get(t_cat, (t_cat,)):
            for n_index, n in enumerate(LUNG_N):
                cases.append((t, n, "M0", row[n_index]))
                cases.extend((t, n, m, group) for m, group in LUNG_M1.items())
    return cases


def _assert_group(site: str, t: str, n: str, m: str, expected: str | None) -> None:
    res = stage(site, f"p{t}", f"p{n}", f"c{m}")
    if expected is None:
        assert (res.status, res.stage_group) == ("not_applicable", None)
        assert res.rule.startswith(f"{site}.none.")
    else:
        assert (res.status, res.stage_group) == ("staged", expected)
        assert res.rule.startswith(f"{site}.")


# ---------------------------------------------------------------- exhaustive tables


@pytest.mark.parametrize(("t", "n", "m", "expected"), _breast_cases())
def test_breast_anatomic_group(t: str, n: str, m: str, expected: str | None) -> None:
    _assert_group("breast", t, n, m, expected)


@pytest.mark.parametrize(("t", "n", "m", "expected"), _colorectal_cases())
def test_colorectal_group(t: str, n: str, m: str, expected: str | None) -> None:
    _assert_group("colorectal", t, n, m, expected)


@pytest.mark.parametrize(("t", "n", "m", "expected"), _lung_cases())
def test_lung_group(t: str, n: str, m: str, expected: str | None) -> None:
    _assert_group("lung", t, n, m, expected)


# ---------------------------------------------------------------- ambiguous: main category without sub-category


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "needs", "candidates"),
    [
        ("lung", "T1", "N0", "M0", ("T",), ("IA1", "IA2", "IA3")),
        ("lung", "T2", "N0", "M0", ("T",), ("IB", "IIA")),
        ("lung", "T1", "N1", "M0", ("T",), ("IIB", "no stage group")),  # T1mi is listed with N0 only
        ("lung", "T3", "N0", "M1", ("M",), ("IVA", "IVB")),
        ("colorectal", "T4", "N0", "M0", ("T",), ("IIB", "IIC")),
        ("colorectal", "T1", "N2", "M0", ("N",), ("IIIA", "IIIB")),
        ("colorectal", "T2", "N1", "M1", ("M",), ("IVA", "IVB", "IVC")),
        ("colorectal", "T4", "N1", "M0", ("T",), ("IIIB", "IIIC")),
    ],
)
def test_main_category_without_needed_subcategory_is_ambiguous(
    site: str, t: str, n: str, m: str, needs: tuple[str, ...], candidates: tuple[str, ...]
) -> None:
    res = stage(site, t, n, m)
    assert (res.status, res.stage_group, res.rule) == ("ambiguous", None, "ambiguous.subcategory")
    assert res.needs_subcategory == needs
    assert res.candidates == candidates


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "group"),
    [
        ("lung", "T2", "N1", "M0", "IIB"),
        ("lung", "T2", "N3", "M0", "IIIB"),
        ("lung", "T1", "N0", "M1c", "IVB"),
        ("colorectal", "T4", "N2b", "M0", "IIIC"),
        ("colorectal", "T4b", "N2", "M0", "IIIC"),
        ("colorectal", "T4", "N2", "M0", "IIIC"),
        ("colorectal", "T3", "N1", "M0", "IIIB"),
        ("breast", "T1", "N0", "M0", "IA"),
        ("breast", "T4", "N2", "M0", "IIIB"),
    ],
)
def test_main_category_stages_when_subcategories_agree(site: str, t: str, n: str, m: str, group: str) -> None:
    res = stage(site, t, n, m)
    assert (res.status, res.stage_group) == ("staged", group)


# ---------------------------------------------------------------- insufficient: X or missing where it matters


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "missing"),
    [
        ("breast", "T2", "NX", "M0", ("N",)),
        ("breast", "T2", "N1", None, ("M",)),
        ("breast", "T1", "N0", "MX", ("M",)),
        ("breast", "TX", "N0", "M0", ("T",)),
        ("breast", "T2", None, None, ("N", "M")),
        ("colorectal", "TX", "N0", "M0", ("T",)),
        ("colorectal", "T3", "pNX", "cM0", ("N",)),
        ("lung", "TX", "N1", "M0", ("T",)),
        ("lung", None, "N0", "M0", ("T",)),
        ("lung", "T2a", "N0", "", ("M",)),
    ],
)
def test_x_or_missing_component_that_matters_is_insufficient(
    site: str, t: str | None, n: str | None, m: str | None, missing: tuple[str, ...]
) -> None:
    res = stage(site, t, n, m)
    assert (res.status, res.stage_group, res.rule) == ("insufficient", None, "insufficient.missing")
    assert res.missing == missing
    assert len(res.candidates) > 1


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "group"),
    [
        ("breast", "TX", "N3", "M0", "IIIC"),
        ("breast", "TX", "NX", "M1", "IV"),
        ("breast", None, None, "M1", "IV"),
        ("colorectal", "TX", "NX", "M1b", "IVB"),
        ("lung", "TX", "N0", "M1c", "IVB"),
        ("lung", "TX", "N2", "M1a", "IVA"),
    ],
)
def test_x_component_that_does_not_matter_still_stages(
    site: str, t: str | None, n: str | None, m: str, group: str
) -> None:
    res = stage(site, t, n, m)
    assert (res.status, res.stage_group) == ("staged", group)


def test_lung_tx_n0_m0_is_occult_carcinoma() -> None:
    res = stage("lung", "TX", "N0", "M0")
    assert (res.status, res.stage_group, res.rule) == ("staged", "Occult carcinoma", "lung.occult")


def test_breast_complete_response_after_therapy_has_no_group() -> None:
    res = stage("breast", "ypT0", "ypN0", "cM0")
    assert (res.status, res.stage_group, res.rule) == ("not_applicable", None, "breast.none.T0N0")
    assert res.classification == "yp"


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "group"),
    [
        ("breast", "pt2", "pn1a", "cm0", "IIB"),
        ("breast", "PT1MI", "PN1MI", "CM0", "IB"),
        ("breast", "pT1b(m)", "pN0(sn)", "cM0", "IA"),
        ("breast", "pT1c", "pN1mi(sn)", "cM0", "IB"),
        ("breast", "pT2", "pN1(f)", "cM0", "IIB"),
        ("breast", " p T 2 ", "p N 0 ( i + )", "c M 0", "IIA"),
        ("breast", "Tis (DCIS)", "N0", "M0", "0"),
        ("breast", "T2", "N1mi", "M0", "IIB"),  # T2 with N1mi stages as N1
        ("breast", "T3", "N1mi", "M0", "IIIA"),
        ("colorectal", "ypT3", "ypN1c", "cM0", "IIIB"),
        ("colorectal", "rpT4a", "rpN2a", "M0", "IIIC"),
        ("lung", "ycT1mi", "ycN0", "cM0", "IA1"),
        ("lung", "tis", "n0", "m0", "0"),
    ],
)
def test_written_forms_normalise(site: str, t: str, n: str, m: str, group: str) -> None:
    assert stage(site, t, n, m).stage_group == group


@pytest.mark.parametrize(
    ("value", "component", "expected"),
    [
        ("ypT1mi", "T", ("yp", "T1mi")),
        ("pN0(i+)", "N", ("p", "N0(i+)")),
        ("cM1c", "M", ("c", "M1c")),
        ("m1", "M", ("", "M1")),
        ("pTx", "T", ("p", "TX")),
        ("N1mi(sn)", "N", ("", "N1mi")),
        ("pN1", "T", None),
        ("pT", "T", None),
        ("stage II", "T", None),
    ],
)
def test_normalise_category(value: str, component: str, expected: tuple[str, str] | None) -> None:
    assert normalise_category(value, component) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "missing"),
    [
        ("breast", "T5", "N0", "M0", ("T",)),
        ("breast", "Tis(LCIS)", "N0", "M0", ("T",)),  # LCIS is not Tis in the 8th edition
        ("breast", "T1", "N4", "M0", ("N",)),
        ("breast", "N0", "N0", "M0", ("T",)),
        ("colorectal", "T2", "N0(i+)", "M0", ("N",)),  # ITC modifier not encoded for this site
        ("lung", "T1a", "N1a", "M0", ("N",)),
        ("lung", "T1a", "N0", "M1d", ("M",)),
    ],
)
def test_unrecognised_category_is_insufficient(site: str, t: str, n: str, m: str, missing: tuple[str, ...]) -> None:
    res = stage(site, t, n, m)
    assert (res.status, res.rule, res.missing) == ("insufficient", "insufficient.unrecognised", missing)


def test_prefix_keyword_applies_when_t_has_none() -> None:
    assert stage("breast", "T2", "N0", "M0", prefix="yc").classification == "yc"
    assert stage("breast", "pT2", "N0", "M0", prefix="c").classification == "p"


def test_invalid_prefix_keyword_raises_ml104() -> None:
    with pytest.raises(InputError) as info:
        stage("breast", "T2", "N0", "M0", prefix="q")
    assert info.value.code == "ML104"


@pytest.mark.parametrize("site", ["Colon", "rectum", "colon and rectum", "COLORECTAL", "colon-rectum"])
def test_site_aliases(site: str) -> None:
    res = stage(site, "T3", "N0", "M0")
    assert (res.site, res.stage_group) == ("colorectal", "IIA")


def test_unsupported_site_is_not_applicable() -> None:
    res = stage("pancreas", "T2", "N0", "M0")
    assert (res.status, res.rule, res.citation) == ("not_applicable", "not_applicable.site", None)


def test_factor_not_used_by_site_is_noted() -> None:
    res = stage("breast", "T2", "N0", "M0", grade=3, psa=4.0)
    assert res.stage_group == "IIA"
    assert any("grade" in r for r in res.reasons)
    assert any("psa" in r for r in res.reasons)


@pytest.mark.parametrize(
    ("site", "chapter"), [("breast", "Chapter 48"), ("colorectal", "Chapter 20"), ("lung", "Chapter 36")]
)
def test_citation_names_manual_chapter_and_table(site: str, chapter: str) -> None:
    citation = stage(site, "T2", "N0", "M0").citation
    assert citation is not None
    assert citation.guideline.startswith("AJCC Cancer Staging Manual, 8th edition")
    assert citation.version == "8th edition"
    assert citation.table.startswith(chapter)
    assert "Stage Groups" in citation.table


# ---------------------------------------------------------------- t_from_size


@pytest.mark.parametrize(
    ("site", "size_mm", "category"),
    [
        ("breast", 0.5, "T1mi"),
        ("breast", 1.0, "T1mi"),
        ("breast", 1.1, "T1a"),
        ("breast", 5.0, "T1a"),
        ("breast", 5.1, "T1b"),
        ("breast", 10.0, "T1b"),
        ("breast", 10.1, "T1c"),
        ("breast", 20.0, "T1c"),
        ("breast", 20.1, "T2"),
        ("breast", 50.0, "T2"),
        ("breast", 50.1, "T3"),
        ("breast", 120.0, "T3"),
        ("lung", 10.0, "T1a"),
        ("lung", 10.1, "T1b"),
        ("lung", 20.0, "T1b"),
        ("lung", 20.1, "T1c"),
        ("lung", 30.0, "T1c"),
        ("lung", 30.1, "T2a"),
        ("lung", 40.0, "T2a"),
        ("lung", 40.1, "T2b"),
        ("lung", 50.0, "T2b"),
        ("lung", 50.1, "T3"),
        ("lung", 70.0, "T3"),
        ("lung", 70.1, "T4"),
    ],
)
def test_t_from_size_band_boundaries(site: str, size_mm: float, category: str) -> None:
    res = t_from_size(site, size_mm)
    assert res is not None
    assert (res.category, res.inferred, res.site) == (category, True, site)
    assert res.raised_by


def test_t_from_size_lung_lists_histology_that_lowers_t() -> None:
    res = t_from_size("lung", 8.0)
    assert res is not None
    assert any("T1mi" in c for c in res.lowered_by)
    assert any("Tis" in c for c in res.lowered_by)


@pytest.mark.parametrize("site", ["colorectal", "colon", "pancreas"])
def test_t_from_size_none_where_t_is_not_size_based(site: str) -> None:
    assert t_from_size(site, 25.0) is None


@pytest.mark.parametrize("size_mm", [0.0, -3.0, math.nan, math.inf])
def test_t_from_size_rejects_non_positive_size(size_mm: float) -> None:
    with pytest.raises(InputError) as info:
        t_from_size("breast", size_mm)
    assert info.value.code == "ML104"


@pytest.mark.parametrize("site", ["breast", "lung"])
def test_t_from_size_category_is_stageable(site: str) -> None:
    table = load_ajcc_site(site)
    assert table.size_t is not None
    for band in table.size_t.bands:
        res = stage(site, band.category, "N0", "M0")
        assert res.status in ("staged", "ambiguous")


# ---------------------------------------------------------------- table validation at load time


@pytest.mark.parametrize("site", AJCC_SITES)
def test_packaged_table_loads(site: str) -> None:
    assert load_ajcc_site(site).site == site


def _raw(site: str) -> dict[str, object]:
    data = yaml.safe_load(read_lexicon_text("medlens.guidelines", f"ajcc8_{site}.yaml"))
    assert isinstance(data, dict)
    return data


def test_table_with_a_gap_is_rejected() -> None:
    data = _raw("colorectal")
    data["rows"] = [r for r in data["rows"] if r["id"] != "IIA"]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="matches no row"):
        AjccSiteTable.model_validate(data)


def test_table_with_an_overlap_is_rejected() -> None:
    data = _raw("lung")
    data["rows"] = [*data["rows"], {"id": "extra", "t": ["T3"], "n": ["N0"], "m": ["M0"], "group": "IIA"}]  # type: ignore[misc]
    with pytest.raises(ValidationError, match="matches rows"):
        AjccSiteTable.model_validate(data)


def test_table_with_unknown_key_is_rejected() -> None:
    data = _raw("breast")
    data["prognostic"] = []
    with pytest.raises(ValidationError):
        AjccSiteTable.model_validate(data)


def test_row_with_undeclared_category_is_rejected() -> None:
    data = _raw("breast")
    data["rows"] = [*data["rows"], {"id": "bad", "t": ["T5"], "n": ["N0"], "m": ["M0"], "group": "IA"}]  # type: ignore[misc]
    with pytest.raises(ValidationError, match="unknown t values"):
        AjccSiteTable.model_validate(data)
