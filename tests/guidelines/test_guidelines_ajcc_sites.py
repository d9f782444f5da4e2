"""AJCC 8th edition stage groups: kidney, urinary bladder, melanoma (pathological), differentiated thyroid, prostate.

Expected grids and the prostate rule below were written by hand from the manual's stage-group tables,
independently of the YAML files.
"""

from __future__ import annotations

import itertools

import pytest

from medlens.guidelines.ajcc import stage, t_from_size

B, C, D = "IIIB", "IIIC", "IIID"
A = "IIIA"

# Kidney, ch. 60: columns N0, N1 at M0; M1 -> IV.
KIDNEY_M0 = {"T0": (None, None), "T1": ("I", "III"), "T2": ("II", "III"), "T3": ("III", "III"), "T4": ("IV", "IV")}
KIDNEY_T = {"T0": ("T0",), "T1": ("T1", "T1a", "T1b"), "T2": ("T2", "T2a", "T2b"), "T3": ("T3", "T3a", "T3b", "T3c"),
            "T4": ("T4",)}  # fmt: skip

# Urinary bladder, ch. 62: columns N0, N1, N2, N3 at M0; M1a -> IVA, M1b -> IVB.
BLADDER_M0 = {
    "T0": (None, None, None, None),
    "Ta": ("0a", None, None, None),
    "Tis": ("0is", None, None, None),
    "T1": ("I", A, B, B),
    "T2": ("II", A, B, B),
    "T3": (A, A, B, B),
    "T4a": (A, A, B, B),
    "T4b": ("IVA", "IVA", "IVA", "IVA"),
}
BLADDER_T = {"T2": ("T2", "T2a", "T2b"), "T3": ("T3", "T3a", "T3b")}

# Melanoma of the skin, ch. 47, pathological: columns N0, N1a, N1b, N1c, N2a, N2b, N2c, N3a, N3b, N3c at M0.
MELANOMA_N = ("N0", "N1a", "N1b", "N1c", "N2a", "N2b", "N2c", "N3a", "N3b", "N3c")
MELANOMA_M0 = {
    "T0": (None, None, B, B, None, C, C, None, C, C),
    "Tis": ("0", None, None, None, None, None, None, None, None, None),
    "T1a": ("IA", A, B, B, A, B, C, C, C, C),
    "T1b": ("IA", A, B, B, A, B, C, C, C, C),
    "T2a": ("IB", A, B, B, A, B, C, C, C, C),
    "T2b": ("IIA", B, B, B, B, B, C, C, C, C),
    "T3a": ("IIA", B, B, B, B, B, C, C, C, C),
    "T3b": ("IIB", C, C, C, C, C, C, C, C, C),
    "T4a": ("IIB", C, C, C, C, C, C, C, C, C),
    "T4b": ("IIC", C, C, C, C, C, C, D, D, D),
}
MELANOMA_M1 = ("M1a", "M1a(0)", "M1b(1)", "M1c", "M1d", "M1d(1)")

# Differentiated thyroid, ch. 73, age >= 55: columns N0, N1 at M0; M1 -> IVB. Age < 55: M0 -> I, M1 -> II.
THYROID_GE55_M0 = {
    "T0": (None, None),
    "T1": ("I", "II"),
    "T2": ("I", "II"),
    "T3a": ("II", "II"),
    "T3b": ("II", "II"),
    "T4a": ("III", "III"),
    "T4b": ("IVA", "IVA"),
}
THYROID_T = {"T1": ("T1", "T1a", "T1b")}
THYROID_N = {"N0": ("N0", "N0a", "N0b"), "N1": ("N1", "N1a", "N1b")}


def _kidney_cases() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for t_cat, row in KIDNEY_M0.items():
        for t, (n_index, n) in itertools.product(KIDNEY_T[t_cat], enumerate(("N0", "N1"))):
            cases.append((t, n, "M0", row[n_index]))
            cases.append((t, n, "M1", "IV"))
    return cases


def _bladder_cases() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for t_cat, row in BLADDER_M0.items():
        for t, (n_index, n) in itertools.product(BLADDER_T.get(t_cat, (t_cat,)), enumerate(("N0", "N1", "N2", "N3"))):
            cases.extend([(t, n, "M0", row[n_index]), (t, n, "M1a", "IVA"), (t, n, "M1b", "IVB")])
    return cases


def _melanoma_cases() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for t, row in MELANOMA_M0.items():
        for n_index, n in enumerate(MELANOMA_N):
            cases.append((t, n, "M0", row[n_index]))
            cases.extend((t, n, m, "IV") for m in MELANOMA_M1)
    return cases


def _thyroid_cases() -> list[tuple[str, str, str, int, str | None]]:
    cases = []
    for t_cat, row in THYROID_GE55_M0.items():
        for t in THYROID_T.get(t_cat, (t_cat,)):
            for n_index, n_cat in enumerate(("N0", "N1")):
                for n in THYROID_N[n_cat]:
                    cases.append((t, n, "M0", 55, row[n_index]))
                    cases.append((t, n, "M1", 80, "IVB"))
                    cases.append((t, n, "M0", 54, "I"))
                    cases.append((t, n, "M1", 20, "II"))
    return cases


def _assert_group(site: str, t: str, n: str, m: str, expected: str | None, **factors: float) -> None:
    res = stage(site, f"p{t}", f"p{n}", f"c{m}", **factors)  # type: ignore[arg-type]
    if expected is None:
        assert (res.status, res.stage_group) == ("not_applicable", None)
        assert res.rule.startswith(f"{site}.none.")
    else:
        assert (res.status, res.stage_group) == ("staged", expected)


@pytest.mark.parametrize(("t", "n", "m", "expected"), _kidney_cases())
def test_kidney_group(t: str, n: str, m: str, expected: str | None) -> None:
    _assert_group("kidney", t, n, m, expected)


@pytest.mark.parametrize(("t", "n", "m", "expected"), _bladder_cases())
def test_bladder_group(t: str, n: str, m: str, expected: str | None) -> None:
    _assert_group("bladder", t, n, m, expected)


@pytest.mark.parametrize(("t", "n", "m", "expected"), _melanoma_cases())
def test_melanoma_pathological_group(t: str, n: str, m: str, expected: str | None) -> None:
    _assert_group("melanoma", t, n, m, expected)


@pytest.mark.parametrize(("t", "n", "m", "age", "expected"), _thyroid_cases())
def test_thyroid_differentiated_group(t: str, n: str, m: str, age: int, expected: str | None) -> None:
    _assert_group("thyroid", t, n, m, expected, age=age)


# ---------------------------------------------------------------- prostate: the table written as a rule


def _prostate_expected(t: str, n: str, m: str, psa: float, gg: int) -> str | None:
    if m != "M0":
        return "IVB"
    if n == "N1":
        return "IVA"
    if gg == 5:
        return "IIIC"
    if t.startswith(("T3", "T4")):
        return "IIIB"
    if t == "T0":
        return None
    if psa >= 20:
        return "IIIA"
    if gg in (3, 4):
        return "IIC"
    if gg == 2:
        return "IIB"
    if t in ("T2b", "T2c"):
        return "IIA"
    return "I" if psa < 10 else "IIA"


def _prostate_cases() -> list[tuple[str, str, str, str, float, int, str | None]]:
    clinical = ("T0", "T1a", "T1b", "T1c", "T2a", "T2b", "T2c", "T3a", "T3b", "T4")
    pathological = ("T2", "T3a", "T3b", "T4")
    cases = []
    for prefix, t_values in (("c", clinical), ("p", pathological)):
        for t, n, m, psa, gg in itertools.product(
            t_values, ("N0", "N1"), ("M0", "M1c"), (4.0, 9.9, 10.0, 19.9, 20.0, 45.0), (1, 2, 3, 4, 5)
        ):
            cases.append((prefix, t, n, m, psa, gg, _prostate_expected(t, n, m, psa, gg)))
    return cases


@pytest.mark.parametrize(("prefix", "t", "n", "m", "psa", "gg", "expected"), _prostate_cases())
def test_prostate_group(prefix: str, t: str, n: str, m: str, psa: float, gg: int, expected: str | None) -> None:
    res = stage("prostate", f"{prefix}{t}", f"{prefix}{n}", f"c{m}", psa=psa, grade_group=gg)
    if expected is None:
        assert (res.status, res.rule) == ("not_applicable", "prostate.none.T0")
    else:
        assert (res.status, res.stage_group) == ("staged", expected)


@pytest.mark.parametrize(
    ("t", "psa", "gg", "status", "group", "detail"),
    [
        ("cT2", 5.0, 1, "ambiguous", None, ("I", "IIA")),  # cT2a -> I, cT2b/c -> IIA
        ("cT2", 15.0, 1, "staged", "IIA", ()),
        ("cT2", 5.0, 2, "staged", "IIB", ()),
        ("cT1c", None, 1, "insufficient", None, ("psa",)),
        ("cT3a", 5.0, None, "insufficient", None, ("grade_group",)),
        ("cT3a", None, 3, "staged", "IIIB", ()),
        ("cT1c", 25.0, None, "insufficient", None, ("grade_group",)),
        ("pT2a", 5.0, 1, "insufficient", None, ("T",)),  # no pT2 sub-categories in the 8th edition
        ("cT2", 5.0, 6, "insufficient", None, ("grade_group",)),
        ("cT2a", -1.0, 1, "insufficient", None, ("psa",)),
    ],
)
def test_prostate_missing_or_partial_inputs(
    t: str, psa: float | None, gg: int | None, status: str, group: str | None, detail: tuple[str, ...]
) -> None:
    res = stage("prostate", t, "N0", "M0", psa=psa, grade_group=gg)
    assert (res.status, res.stage_group) == (status, group)
    if status == "ambiguous":
        assert res.candidates == detail
    elif status == "insufficient":
        assert res.missing == detail


def test_prostate_node_positive_needs_no_psa_or_grade_group() -> None:
    assert stage("prostate", "cT1c", "N1", "M0").stage_group == "IVA"


def test_prostate_post_therapy_not_encoded() -> None:
    res = stage("prostate", "ypT2", "ypN0", "cM0", psa=5.0, grade_group=1)
    assert (res.status, res.rule) == ("not_applicable", "not_applicable.classification")


# ---------------------------------------------------------------- site-specific outcomes


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "age", "status", "group"),
    [
        ("thyroid", "T1", "NX", "M0", 60, "staged", "I"),  # the table writes N0/NX
        ("thyroid", "T2", "NX", "M0", 70, "staged", "I"),
        ("thyroid", "T1b", "NX", "M0", None, "staged", "I"),  # I at any age
        ("thyroid", "T3", "NX", "M0", 60, "staged", "II"),
        ("thyroid", "T3", "N0", "M0", None, "insufficient", None),  # I below 55, II from 55
        ("thyroid", "T4", "N0", "M0", 60, "ambiguous", None),
        ("thyroid", "T4", "N1", "M0", 40, "staged", "I"),
        ("thyroid", "TX", "NX", "M0", 30, "staged", "I"),
        ("thyroid", "TX", "N0", "M0", 60, "insufficient", None),
    ],
)
def test_thyroid_age_and_nx(site: str, t: str, n: str, m: str, age: int | None, status: str, group: str | None) -> None:
    res = stage(site, t, n, m, age=age)
    assert (res.status, res.stage_group) == (status, group)


@pytest.mark.parametrize(
    ("site", "t", "n", "m", "status", "detail"),
    [
        ("bladder", "T4", "N0", "M0", "ambiguous", ("IIIA", "IVA")),
        ("bladder", "T4", "N2", "M0", "ambiguous", ("IIIB", "IVA")),
        ("bladder", "T2", "N0", "M1", "ambiguous", ("IVA", "IVB")),
        ("melanoma", "T4", "N0", "M0", "ambiguous", ("IIB", "IIC")),
        ("melanoma", "T1a", "N1", "M0", "ambiguous", ("IIIA", "IIIB")),
        ("melanoma", "T1", "N0", "M0", "staged", ("IA",)),
        ("melanoma", "T3b", "N2", "M0", "staged", ("IIIC",)),
        ("kidney", "T3", "NX", "M0", "staged", ("III",)),
        ("kidney", "T1", "NX", "M0", "insufficient", ("N",)),
    ],
)
def test_site_specific_outcome(site: str, t: str, n: str, m: str, status: str, detail: tuple[str, ...]) -> None:
    res = stage(site, t, n, m)
    assert res.status == status
    if status == "staged":
        assert (res.stage_group,) == detail
    elif status == "ambiguous":
        assert res.candidates == detail
    else:
        assert res.missing == detail


@pytest.mark.parametrize("t", ["cT2a", "ycT2a", "ypT2a"])
def test_melanoma_clinical_and_post_therapy_groups_not_encoded(t: str) -> None:
    res = stage("melanoma", t, "N0", "M0")
    assert (res.status, res.rule) == ("not_applicable", "not_applicable.classification")


def test_melanoma_rejects_itc_modifier() -> None:
    res = stage("melanoma", "pT2a", "pN0(i+)", "cM0")
    assert (res.status, res.missing) == ("insufficient", ("N",))


@pytest.mark.parametrize(
    ("site", "chapter"),
    [("kidney", 60), ("bladder", 62), ("melanoma", 47), ("thyroid", 73), ("prostate", 58)],
)
def test_citation_chapter(site: str, chapter: int) -> None:
    citation = stage(site, "T2", "N1", "M1").citation
    assert citation is not None
    assert citation.table.startswith(f"Chapter {chapter}, ")


# ---------------------------------------------------------------- t_from_size


@pytest.mark.parametrize(
    ("site", "size_mm", "category"),
    [
        ("kidney", 40.0, "T1a"),
        ("kidney", 40.1, "T1b"),
        ("kidney", 70.0, "T1b"),
        ("kidney", 70.1, "T2a"),
        ("kidney", 100.0, "T2a"),
        ("kidney", 100.1, "T2b"),
        ("thyroid", 10.0, "T1a"),
        ("thyroid", 10.1, "T1b"),
        ("thyroid", 20.0, "T1b"),
        ("thyroid", 20.1, "T2"),
        ("thyroid", 40.0, "T2"),
        ("thyroid", 40.1, "T3a"),
    ],
)
def test_t_from_size_band_boundaries(site: str, size_mm: float, category: str) -> None:
    res = t_from_size(site, size_mm)
    assert res is not None
    assert (res.category, res.inferred) == (category, True)
    assert res.raised_by


@pytest.mark.parametrize("site", ["bladder", "melanoma", "prostate"])
def test_t_from_size_none_for_non_size_sites(site: str) -> None:
    assert t_from_size(site, 15.0) is None
