"""BI-RADS (ACR Atlas 5th edition): stated category extraction and assessment/recommendation concordance."""

from __future__ import annotations

import pytest

from medlens.guidelines.birads import birads_assessment, load_birads_table


@pytest.mark.parametrize(
    ("text", "category", "subcategory", "quote"),
    [
        ("IMPRESSION: BI-RADS 2.", "2", None, "BI-RADS 2"),
        ("BIRADS Classification 2 - Benign", "2", None, "BIRADS Classification 2"),
        ("Assessment: BI-RADS category 4A: low suspicion.", "4", "4A", "BI-RADS category 4A"),
        ("ACR BI-RADS\u00ae Category 0 - incomplete", "0", None, "BI-RADS\u00ae Category 0"),
        ("IMPRESSION: BIRADS CATEGORY M/5There is enhancement.", "5", None, "BIRADS CATEGORY M/5"),
        ("bi-rads: 3, probably benign", "3", None, "bi-rads: 3"),
        ("BI RADS final assessment category six.", "6", None, "BI RADS final assessment category six"),
    ],
)
def test_stated_category_extracted_with_offsets(text: str, category: str, subcategory: str | None, quote: str) -> None:
    res = birads_assessment(text)
    (mention,) = res.mentions
    assert (mention.category, mention.subcategory, mention.quote) == (category, subcategory, quote)
    assert text[mention.start : mention.end] == quote
    assert res.category == category


@pytest.mark.parametrize("text", ["BI-RADS 45 lesions", "No assessment given.", "BI-RADS 7"])
def test_no_valid_category_is_insufficient(text: str) -> None:
    res = birads_assessment(text)
    assert (res.category, res.rule, res.consistent) == (None, "insufficient.no_category", None)


@pytest.mark.parametrize(
    ("text", "consistent", "rule"),
    [
        # one row per category: concordant management
        ("BI-RADS 0. Recommend additional views of the right breast.", True, "concordant"),
        ("BI-RADS 1. Annual screening mammography is recommended.", True, "concordant"),
        ("BI-RADS 2. Routine screening mammography is recommended.", True, "concordant"),
        ("BI-RADS 3. Short-interval follow-up in 6 months is recommended.", True, "concordant"),
        ("BI-RADS 4B. Ultrasound-guided biopsy is recommended.", True, "concordant"),
        ("BI-RADS 5. Tissue sampling is recommended.", True, "concordant"),
        ("BI-RADS 6. Surgical excision is recommended when clinically appropriate.", True, "concordant"),
        # discordant combinations
        ("BI-RADS 1. Biopsy is recommended.", False, "discordant.1.biopsy"),
        ("BI-RADS 2. Core biopsy recommended.", False, "discordant.2.biopsy"),
        ("BI-RADS 2. Six month follow-up is suggested.", False, "discordant.2.short_interval"),
        ("BI-RADS 3. Biopsy should be performed.", False, "discordant.3.biopsy"),
        ("BI-RADS 4. Annual screening mammography is recommended.", False, "discordant.4.routine_screening"),
        ("BI-RADS 5. Routine screening is advised.", False, "discordant.5.routine_screening"),
        ("BI-RADS 0. Annual screening mammography is recommended.", False, "discordant.0.routine_screening"),
        (
            "BI-RADS 2. Biopsy is recommended. Annual screening mammography is recommended.",
            False,
            "discordant.2.biopsy",
        ),
        # mixed report: biopsy, then screening if benign
        (
            "BI-RADS 4. Biopsy is recommended; if benign, annual screening mammography is recommended.",
            True,
            "concordant",
        ),
    ],
)
def test_concordance(text: str, consistent: bool, rule: str) -> None:
    res = birads_assessment(text)
    assert (res.consistent, res.rule) == (consistent, rule)
    assert bool(res.flags) == (not consistent)


def test_negated_biopsy_is_not_a_recommendation() -> None:
    res = birads_assessment("BI-RADS 2. Biopsy is not recommended. Annual screening mammography is recommended.")
    assert res.consistent is True
    assert [r.kind for r in res.recommendations] == ["routine_screening"]


def test_past_biopsy_without_recommendation_cue_is_ignored() -> None:
    res = birads_assessment("The mass was subsequently biopsied. Biopsy clip in place. BI-RADS 2.")
    assert (res.consistent, res.rule) == (None, "insufficient.no_recommendation")


def test_disagreeing_mentions_give_no_single_category() -> None:
    res = birads_assessment("Right: BI-RADS 2. Left: BI-RADS 4. Biopsy of the left mass is recommended.")
    assert res.category is None
    assert [m.category for m in res.mentions] == ["2", "4"]
    assert res.consistent is False  # the 2 is contradicted by a biopsy: flagged for the reviewer


def test_recommendation_offsets_quote_the_text() -> None:
    text = "BI-RADS 3. Short-interval follow-up is recommended."
    (rec,) = birads_assessment(text).recommendations
    assert text[rec.start : rec.end] == rec.quote == "Short-interval"


def test_decimal_point_does_not_split_sentence() -> None:
    res = birads_assessment("BI-RADS 4. A 1.5 cm mass; biopsy is recommended.")
    assert res.consistent is True


def test_packaged_table_has_categories_0_to_6() -> None:
    assert [row.category for row in load_birads_table().categories] == [str(i) for i in range(7)]
