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
]


@pytest.mark.parametrize(("site", "extents", "size", "expected", "source"), ROWS)
def test_t_from_extent_table(site: str, extents: list[str], size: float | None, expected: str, source: str) -> None:
    result = t_from_extent(site, extents, size_mm=size)
    assert result is not None
    assert (result.category, result.source, result.inferred) == (expected, source, True)


def test_every_site_file_loads_with_chapter_citation() -> None:
    chapters = {site: load_extent_site(site).chapter for site in EXTENT_SITES}
    assert chapters == {"colorectal": 20, "stomach": 17, "bladder": 62, "kidney": 60, "lung": 36}


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
