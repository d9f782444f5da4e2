"""AJCC 8th edition T from stated extent (and size): one row per T-definition line, written from the manual."""

from __future__ import annotations

import pytest

from medlens.core.errors import InputError
from medlens.guidelines.ajcc_extent import EXTENT_SITES, load_extent_site, t_from_extent

# (site, extents, size_mm, expected T, expected source)
ROWS = [
    # Chapter 20, colon and rectum: depth of invasion.
    ("colorectal", ["lamina_propria"], None, "Tis", "extent"),
    ("colorectal", ["muscularis_mucosae"], None, "Tis", "extent"),
    ("colorectal", ["submucosa"], None, "T1", "extent"),
    ("colorectal", ["muscularis_propria"], None, "T2", "extent"),
    ("colorectal", ["beyond_muscularis_propria"], None, "T3", "extent"),
    ("colorectal", ["pericolorectal_tissue"], None, "T3", "extent"),
    ("colorectal", ["subserosa"], None, "T3", "extent"),
    ("colorectal", ["serosa"], None, "T4a", "extent"),
    ("colorectal", ["visceral_peritoneum"], None, "T4a", "extent"),
    ("colorectal", ["adjacent_organ"], None, "T4b", "extent"),
    ("colon", ["submucosa", "muscularis_propria", "pericolorectal_tissue"], None, "T3", "extent"),
    ("rectum", ["muscularis_propria"], 80.0, "T2", "extent"),  # size plays no part
    # Chapter 17, stomach.
    ("stomach", ["lamina_propria"], None, "T1a", "extent"),
    ("stomach", ["submucosa"], None, "T1b", "extent"),
    ("stomach", ["muscularis_propria"], None, "T2", "extent"),
    ("stomach", ["subserosa"], None, "T3", "extent"),
    ("stomach", ["serosa"], None, "T4a", "extent"),
    ("stomach", ["adjacent_organ"], None, "T4b", "extent"),
    # Chapter 62, urinary bladder.
    ("bladder", ["lamina_propria"], None, "T1", "extent"),
    ("bladder", ["muscularis_propria"], None, "T2", "extent"),
    ("bladder", ["muscularis_propria_inner"], None, "T2a", "extent"),
    ("bladder", ["muscularis_propria", "muscularis_propria_outer"], None, "T2b", "extent"),
    ("bladder", ["perivesical_tissue"], None, "T3", "extent"),
    ("bladder", ["perivesical_tissue_microscopic"], None, "T3a", "extent"),
    ("bladder", ["perivesical_tissue_macroscopic"], None, "T3b", "extent"),
    ("bladder", ["prostatic_stroma"], None, "T4a", "extent"),
    ("bladder", ["seminal_vesicle"], None, "T4a", "extent"),
    ("bladder", ["uterus"], None, "T4a", "extent"),
    ("bladder", ["vagina"], None, "T4a", "extent"),
    ("bladder", ["pelvic_wall"], None, "T4b", "extent"),
    ("bladder", ["abdominal_wall"], None, "T4b", "extent"),
    # Chapter 60, kidney: size bands within the kidney, extension beyond it.
    ("kidney", [], 40.0, "T1a", "size"),
    ("kidney", [], 40.1, "T1b", "size"),
    ("kidney", [], 70.0, "T1b", "size"),
    ("kidney", [], 100.0, "T2a", "size"),
    ("kidney", [], 100.1, "T2b", "size"),
    ("kidney", ["perinephric_fat"], 30.0, "T3a", "extent"),
    ("kidney", ["renal_sinus_fat"], 120.0, "T3a", "extent"),
    ("kidney", ["renal_vein"], None, "T3a", "extent"),
    ("kidney", ["pelvicalyceal_system"], None, "T3a", "extent"),
    ("kidney", ["vena_cava"], None, "T3b", "extent"),
    ("kidney", ["beyond_gerota_fascia"], None, "T4", "extent"),
    ("kidney", ["adrenal_gland"], None, "T4", "extent"),
    # Chapter 36, lung: T2 features are T2a up to 40 mm or size unknown, else the size band.
    ("lung", [], 25.0, "T1c", "size"),
    ("lung", ["visceral_pleura"], 25.0, "T2a", "extent"),
    ("lung", ["visceral_pleura"], None, "T2a", "extent"),
    ("lung", ["visceral_pleura"], 40.0, "T2a", "extent"),
    ("lung", ["visceral_pleura"], 45.0, "T2b", "size"),
    ("lung", ["main_bronchus"], 15.0, "T2a", "extent"),
    ("lung", ["chest_wall"], 20.0, "T3", "extent"),
    ("lung", ["parietal_pleura"], None, "T3", "extent"),
    ("lung", ["phrenic_nerve"], None, "T3", "extent"),
    ("lung", ["parietal_pericardium"], None, "T3", "extent"),
    ("lung", ["visceral_pleura"], 60.0, "T3", "size"),
    ("lung", ["chest_wall"], 60.0, "T3", "extent"),
    ("lung", ["diaphragm"], 10.0, "T4", "extent"),
    ("lung", ["mediastinum"], None, "T4", "extent"),
    ("lung", ["carina"], None, "T4", "extent"),
    ("lung", [], 75.0, "T4", "size"),
    # Chapter 76, adrenal cortical carcinoma: 5 cm band within the adrenal, then extension.
    ("adrenal_cortex", [], 50.0, "T1", "size"),
    ("adrenal_cortex", [], 50.1, "T2", "size"),
    ("adrenal_cortex", ["periadrenal_tissue"], 30.0, "T3", "extent"),
    ("adrenal_cortex", ["periadrenal_tissue"], 120.0, "T3", "extent"),
    ("adrenal_cortex", ["kidney"], 20.0, "T4", "extent"),
    ("adrenal_cortex", ["diaphragm"], None, "T4", "extent"),
    ("adrenal_cortex", ["pancreas"], None, "T4", "extent"),
    ("adrenal_cortex", ["spleen"], None, "T4", "extent"),
    ("adrenal_cortex", ["liver"], None, "T4", "extent"),
    ("adrenal_cortex", ["renal_vein"], None, "T4", "extent"),
    ("adrenal_cortex", ["vena_cava"], None, "T4", "extent"),
    # Chapter 22, liver: T4 by extension, whatever the size.
    ("liver", ["major_portal_hepatic_vein"], 15.0, "T4", "extent"),
    ("liver", ["adjacent_organ"], None, "T4", "extent"),
    ("liver", ["diaphragm"], 80.0, "T4", "extent"),
    ("liver", ["visceral_peritoneum_perforated"], None, "T4", "extent"),
    # Colon and stomach: through the visceral peritoneum stays T4a.
    ("colorectal", ["visceral_peritoneum_perforated"], None, "T4a", "extent"),
    ("stomach", ["visceral_peritoneum_perforated"], None, "T4a", "extent"),
]

# Chapter 22, liver (hepatocellular carcinoma): (focality, size_mm, vascular invasion, expected T). An unstated
# feature matches every grid row and the lowest T still possible is the floor.
LIVER_GRID = [
    ("solitary", 20.0, None, "T1a"),
    ("solitary", 20.0, "present", "T1a"),  # <= 2 cm: T1a with or without vascular invasion
    ("solitary", 20.0, "absent", "T1a"),
    ("solitary", 20.1, "absent", "T1b"),
    ("solitary", 20.1, "present", "T2"),
    ("solitary", 120.0, "absent", "T1b"),
    ("solitary", 120.0, "present", "T2"),
    ("solitary", 30.0, None, "T1b"),  # vascular invasion not stated: floor T1b
    ("solitary", None, "present", "T1a"),  # size not stated: could be <= 2 cm
    ("solitary", None, None, "T1a"),
    ("multiple", 10.0, None, "T2"),
    ("multiple", 50.0, "absent", "T2"),
    ("multiple", 50.1, None, "T3"),
    ("multiple", 50.1, "present", "T3"),
    ("multiple", None, None, "T2"),
    (None, 20.0, None, "T1a"),  # count not stated: solitary <= 2 cm is the lowest possibility
    (None, 20.1, None, "T1b"),
    (None, 20.1, "present", "T2"),  # solitary with vascular invasion or multiple: T2 either way
    (None, 60.0, "absent", "T1b"),
]


@pytest.mark.parametrize(("focality", "size", "vascular", "expected"), LIVER_GRID)
def test_liver_grid_floor(focality: str | None, size: float | None, vascular: str | None, expected: str) -> None:
    result = t_from_extent("liver", [], size_mm=size, focality=focality, vascular_invasion=vascular)  # type: ignore[arg-type]
    assert result is not None
    assert (result.category, result.source, result.inferred) == (expected, "tumour_features", True)


def test_liver_without_count_or_size_gives_none() -> None:
    assert t_from_extent("liver", [], vascular_invasion="present") is None


def test_liver_extension_beats_grid() -> None:
    result = t_from_extent("liver", ["major_portal_hepatic_vein"], size_mm=15.0, focality="solitary")
    assert result is not None
    assert (result.category, result.source, result.criteria) == ("T4", "extent", ("liver.T4.major_vein_or_adjacent",))


def test_liver_grid_names_rows_and_features() -> None:
    result = t_from_extent("liver", [], size_mm=30.0, focality="solitary", vascular_invasion="present")
    assert result is not None
    assert result.grid_rows == ("liver.T2.solitary_gt20_vi",)
    assert (result.focality, result.vascular_invasion, result.size_mm) == ("solitary", "present", 30.0)
    assert result.citation.table.startswith("Chapter 22")
    assert [r.rsplit("(", 1)[1] for r in result.raised_by] == ["T3)", "T4)"]


def test_grid_features_ignored_by_other_sites() -> None:
    result = t_from_extent("kidney", [], size_mm=30.0, focality="multiple", vascular_invasion="present")
    assert result is not None
    assert (result.category, result.source, result.focality, result.grid_rows) == ("T1a", "size", None, ())


def test_gallbladder_is_not_a_liver_t4_extent() -> None:
    result = t_from_extent("liver", ["gallbladder"], size_mm=15.0, focality="solitary")
    assert result is not None
    assert (result.category, result.ignored) == ("T1a", ("gallbladder",))


@pytest.mark.parametrize(("site", "extents", "size", "expected", "source"), ROWS)
def test_t_from_extent_table(site: str, extents: list[str], size: float | None, expected: str, source: str) -> None:
    result = t_from_extent(site, extents, size_mm=size)
    assert result is not None
    assert (result.category, result.source, result.inferred) == (expected, source, True)


def test_every_site_file_loads_with_chapter_citation() -> None:
    chapters = {site: load_extent_site(site).chapter for site in EXTENT_SITES}
    assert chapters == {
        "colorectal": 20,
        "stomach": 17,
        "bladder": 62,
        "kidney": 60,
        "lung": 36,
        "liver": 22,
        "adrenal_cortex": 76,
    }


def test_citation_names_chapter_and_table() -> None:
    result = t_from_extent("colorectal", ["serosa"])
    assert result is not None
    assert result.citation.table.startswith("Chapter 20")
    assert result.criteria == ("colorectal.T4a.visceral_peritoneum",)


def test_raised_by_lists_only_higher_criteria() -> None:
    result = t_from_extent("colorectal", ["pericolorectal_tissue"])
    assert result is not None
    assert [r.rsplit("(", 1)[1] for r in result.raised_by] == ["T4a)", "T4b)"]


def test_key_of_another_site_is_ignored() -> None:
    result = t_from_extent("colorectal", ["visceral_pleura", "submucosa"])
    assert result is not None
    assert (result.category, result.ignored) == ("T1", ("visceral_pleura",))


def test_no_extent_and_no_size_gives_none() -> None:
    assert t_from_extent("colorectal", []) is None
    assert t_from_extent("bladder", ["visceral_pleura"]) is None


def test_unencoded_site_gives_none() -> None:
    assert t_from_extent("breast", ["chest_wall"], size_mm=10) is None


def test_depth_site_ignores_size() -> None:
    assert t_from_extent("stomach", [], size_mm=50) is None


@pytest.mark.parametrize("size", [0.0, -1.0, float("nan")])
def test_bad_size_is_input_error(size: float) -> None:
    with pytest.raises(InputError) as err:
        t_from_extent("lung", [], size_mm=size)
    assert err.value.code == "ML104"


def test_grid_row_outside_order_is_rejected() -> None:
    from pydantic import ValidationError

    from medlens.guidelines.ajcc_extent import ExtentSiteTable

    data = load_extent_site("liver").model_dump()
    data["grid"][0]["t"] = "T9"
    with pytest.raises(ValidationError):
        ExtentSiteTable.model_validate(data)
