"""Vitals and labs in notes: names, values, units, LOINC codes, stated flags, gating, and what is never a result."""

from __future__ import annotations

from importlib import resources

import pytest
from pydantic import ValidationError

from medlens.notes.measurement_lexicon import MeasurementEntry, MeasurementLexicon, load_measurement_lexicons
from medlens.notes.schema import Finding
from medlens.notes.vitals_labs import extract_vitals_labs
from medlens.text import ContextEngine, analyze

CONTEXT = ContextEngine()


def run(text: str) -> list[Finding]:
    return extract_vitals_labs(text, "n1", analyze(text), CONTEXT)


def by_name(text: str, name: str) -> list[Finding]:
    return [f for f in run(text) if f.text == name]


def summary(f: Finding) -> tuple[str, str | None, float | None, str | None, str | None, str]:
    m = f.measurement
    assert m is not None
    assert m.value is not None
    return f.text, f.code.code if f.code else None, m.value.value, m.value.unit, m.value.ucum, f.evidence[0].quote


# (text, [(preferred name, LOINC, value, unit as written, UCUM, evidence quote)])
VITALS = [
    (
        "VITAL SIGNS: Temperature 98.6, pulse 80.",
        [
            ("Body temperature", "8310-5", 98.6, None, None, "Temperature 98.6"),
            ("Heart rate", "8867-4", 80.0, None, None, "pulse 80"),
        ],
    ),
    (
        "Vitals: T 37.2 C, HR 72 bpm, RR 16, SpO2 98% on RA.",
        [
            ("Body temperature", "8310-5", 37.2, "C", "Cel", "T 37.2 C"),
            ("Heart rate", "8867-4", 72.0, "bpm", "/min", "HR 72 bpm"),
            ("Respiratory rate", "9279-1", 16.0, None, None, "RR 16"),
            ("Oxygen saturation by pulse oximetry", "59408-5", 98.0, "%", "%", "SpO2 98%"),
        ],
    ),
    ("Temp 101.2 F overnight.", [("Body temperature", "8310-5", 101.2, "F", "[degF]", "Temp 101.2 F")]),
    (
        "temperature of 97.6 degrees Fahrenheit",
        [
            (
                "Body temperature",
                "8310-5",
                97.6,
                "degrees Fahrenheit",
                "[degF]",
                "temperature of 97.6 degrees Fahrenheit",
            ),
        ],
    ),
    (
        "respiratory rate 16 per minute",
        [("Respiratory rate", "9279-1", 16.0, "per minute", "/min", "respiratory rate 16 per minute")],
    ),
    (
        "Pulse oximetry is 99% on room air.",
        [("Oxygen saturation by pulse oximetry", "59408-5", 99.0, "%", "%", "Pulse oximetry is 99%")],
    ),
    ("oxygen saturation 91% on room air", [("Oxygen saturation", "2708-6", 91.0, "%", "%", "oxygen saturation 91%")]),
    ("Weight: 84.6 kg.", [("Body weight", "29463-7", 84.6, "kg", "kg", "Weight: 84.6 kg")]),
    ("She weighs 150 pounds.", [("Body weight", "29463-7", 150.0, "pounds", "[lb_av]", "weighs 150 pounds")]),
    (
        "Height = 72 in. BMI 24.4 kg/m2.",
        [
            ("Body height", "8302-2", 72.0, "in", "[in_i]", "Height = 72 in"),
            ("Body mass index", "39156-5", 24.4, "kg/m2", "kg/m2", "BMI 24.4 kg/m2"),
        ],
    ),
    ("Height 170 cm.", [("Body height", "8302-2", 170.0, "cm", "cm", "Height 170 cm")]),
    ("Height 5'7\" per the patient.", [("Body height", "8302-2", 67.0, None, "[in_i]", "Height 5'7\"")]),
    ("height is 5 feet 7 inches", [("Body height", "8302-2", 67.0, None, "[in_i]", "height is 5 feet 7 inches")]),
    ("He is 69 inches tall.", [("Body height", "8302-2", 69.0, "inches", "[in_i]", "69 inches tall")]),
    ("MAP 65 on pressors in the ICU vitals", []),
]


@pytest.mark.parametrize(("text", "expected"), VITALS)
def test_vital_signs(text, expected):
    assert [summary(f) for f in run(text)] == expected


# (text, systolic, diastolic, unit, evidence quote)
BLOOD_PRESSURE = [
    ("BP 120/80", 120.0, 80.0, None, "BP 120/80"),
    ("blood pressure 96/56", 96.0, 56.0, None, "blood pressure 96/56"),
    ("BP: 140/90 mmHg", 140.0, 90.0, "mmHg", "BP: 140/90 mmHg"),
    ("Blood pressure is 135/65.", 135.0, 65.0, None, "Blood pressure is 135/65"),
    ("blood pressure of 168/74, afebrile", 168.0, 74.0, None, "blood pressure of 168/74"),
    ("BP 120 over 80", 120.0, 80.0, None, "BP 120 over 80"),
    ("Upright BP = 120/80 mmHg.", 120.0, 80.0, "mmHg", "BP = 120/80 mmHg"),
]


@pytest.mark.parametrize(("text", "systolic", "diastolic", "unit", "quote"), BLOOD_PRESSURE)
def test_blood_pressure_is_one_finding_with_two_values(text, systolic, diastolic, unit, quote):
    (f,) = run(text)
    m = f.measurement
    assert f.type == "vital"
    assert f.text == "Blood pressure"
    assert f.code is not None
    assert f.code.code == "85354-9"
    assert m is not None
    assert m.value is not None
    assert m.value2 is not None
    assert (m.value.value, m.value2.value, m.value.unit, f.evidence[0].quote) == (systolic, diastolic, unit, quote)
    if unit:
        assert m.value.ucum == m.value2.ucum == "mm[Hg]"


def test_blood_pressure_values_carry_their_own_evidence():
    text = "BP: 140/90 mmHg"
    m = run(text)[0].measurement
    assert m is not None
    assert m.value is not None
    assert m.value2 is not None
    assert [e.quote for e in m.value.evidence] == ["140", "mmHg"]
    assert [e.quote for e in m.value2.evidence] == ["90 mmHg"]


# (text, [(preferred name, LOINC, value, unit, UCUM, evidence quote)])
LABS = [
    (
        "Sodium 133, potassium 5.3, BUN 29, creatinine 1.8. Hemoglobin 14, white count 7100, platelet count 515.",
        [
            ("Sodium", "2951-2", 133.0, None, None, "Sodium 133"),
            ("Potassium", "2823-3", 5.3, None, None, "potassium 5.3"),
            ("Blood urea nitrogen", "3094-0", 29.0, None, None, "BUN 29"),
            ("Creatinine", "2160-0", 1.8, None, None, "creatinine 1.8"),
            ("Hemoglobin", "718-7", 14.0, None, None, "Hemoglobin 14"),
            ("White blood cell count", "26464-8", 7100.0, None, None, "white count 7100"),
            ("Platelet count", "26515-7", 515.0, None, None, "platelet count 515"),
        ],
    ),
    (
        "Labs: Na 138 K 4.1 Cl 101 CO2 24",
        [
            ("Sodium", "2951-2", 138.0, None, None, "Na 138"),
            ("Potassium", "2823-3", 4.1, None, None, "K 4.1"),
            ("Chloride", "2075-0", 101.0, None, None, "Cl 101"),
            ("Carbon dioxide, total", "2028-9", 24.0, None, None, "CO2 24"),
        ],
    ),
    ("Glucose 250 mg/dL (H)", [("Glucose", "2345-7", 250.0, "mg/dL", "mg/dL", "Glucose 250 mg/dL (H)")]),
    ("WBC: 12.3 (H)", [("White blood cell count", "26464-8", 12.3, None, None, "WBC: 12.3 (H)")]),
    ("WBC 12.3 K/uL", [("White blood cell count", "26464-8", 12.3, "K/uL", "10*3/uL", "WBC 12.3 K/uL")]),
    ("platelets 380,000", [("Platelet count", "26515-7", 380000.0, None, None, "platelets 380,000")]),
    (
        "Hgb 10.1, Hct 30%",
        [
            ("Hemoglobin", "718-7", 10.1, None, None, "Hgb 10.1"),
            ("Hematocrit", "20570-8", 30.0, "%", "%", "Hct 30%"),
        ],
    ),
    (
        "AST 69, ALT 64, alk phos 120, total bilirubin 1.3, albumin 4.2, total protein 7.1",
        [
            ("Aspartate aminotransferase", "1920-8", 69.0, None, None, "AST 69"),
            ("Alanine aminotransferase", "1742-6", 64.0, None, None, "ALT 64"),
            ("Alkaline phosphatase", "6768-6", 120.0, None, None, "alk phos 120"),
            ("Bilirubin, total", "1975-2", 1.3, None, None, "total bilirubin 1.3"),
            ("Albumin", "1751-7", 4.2, None, None, "albumin 4.2"),
            ("Protein, total", "2885-2", 7.1, None, None, "total protein 7.1"),
        ],
    ),
    ("Hemoglobin A1c was 7.6%.", [("Hemoglobin A1c", "4548-4", 7.6, "%", "%", "Hemoglobin A1c was 7.6%")]),
    (
        "Total cholesterol 192, HDL 37, LDL 120, triglycerides 487.",
        [
            ("Cholesterol, total", "2093-3", 192.0, None, None, "Total cholesterol 192"),
            ("HDL cholesterol", "2085-9", 37.0, None, None, "HDL 37"),
            ("LDL cholesterol", "2089-1", 120.0, None, None, "LDL 120"),
            ("Triglycerides", "2571-8", 487.0, None, None, "triglycerides 487"),
        ],
    ),
    (
        "TSH of 1.3. INR 1.1, PT 13.4, PTT 28.",
        [
            ("Thyroid stimulating hormone", "3016-3", 1.3, None, None, "TSH of 1.3"),
            ("INR", "6301-6", 1.1, None, None, "INR 1.1"),
            ("Prothrombin time", "5902-2", 13.4, None, None, "PT 13.4"),
            ("Activated partial thromboplastin time", "14979-9", 28.0, None, None, "PTT 28"),
        ],
    ),
    (
        "troponin I 0.04 ng/mL, BNP 9290, lactate 2.1, magnesium 1.8, phosphorus 3.2",
        [
            ("Troponin I", "10839-9", 0.04, "ng/mL", "ng/mL", "troponin I 0.04 ng/mL"),
            ("B-type natriuretic peptide", "30934-4", 9290.0, None, None, "BNP 9290"),
            ("Lactate", None, 2.1, None, None, "lactate 2.1"),
            ("Magnesium", "19123-9", 1.8, None, None, "magnesium 1.8"),
            ("Phosphorus", "2777-1", 3.2, None, None, "phosphorus 3.2"),
        ],
    ),
    (
        "Calcium 9.5, bicarbonate 26",
        [
            ("Calcium", "17861-6", 9.5, None, None, "Calcium 9.5"),
            ("Bicarbonate", "1963-8", 26.0, None, None, "bicarbonate 26"),
        ],
    ),
    (
        "creatinine clearance 45 mL/min",
        [("Creatinine clearance", None, 45.0, "mL/min", "mL/min", "creatinine clearance 45 mL/min")],
    ),
    ("plain troponin 0.5", [("Troponin", None, 0.5, None, None, "troponin 0.5")]),
    ("glucose 5.6 mmol/L", [("Glucose", None, 5.6, "mmol/L", "mmol/L", "glucose 5.6 mmol/L")]),
]


@pytest.mark.parametrize(("text", "expected"), LABS)
def test_lab_results(text, expected):
    assert [summary(f) for f in run(text)] == expected


def test_code_is_loinc_from_the_lexicon():
    (f,) = run("Sodium 133")
    assert f.code is not None
    assert (f.code.system, f.code.source) == ("http://loinc.org", "medlens lexicon labs.yaml")
    assert f.code.display == "Sodium [Moles/volume] in Serum or Plasma"
    (v,) = run("Pulse 80")
    assert v.code is not None
    assert v.code.source == "medlens lexicon vitals.yaml"


def test_comparator_and_range_values():
    (f,) = run("Troponin was less than 0.1")
    m = f.measurement
    assert m is not None
    assert m.value is not None
    assert (m.value.value, m.value.comparator) == (0.1, "<")
    (g,) = run("GFR of 40-41 mL/min")
    m = g.measurement
    assert m is not None
    assert m.value is not None
    assert (m.value.value, m.value.low, m.value.high) == (None, 40.0, 41.0)


# (text, preferred name, interpretation, interpretation_source)
FLAGS = [
    ("Glucose 250 mg/dL (H)", "Glucose", "H", "stated"),
    ("SODIUM 132 MMOL/L (L)", "Sodium", "L", "stated"),
    ("Labs: K 3.2 L", "Potassium", "L", "stated"),
    ("Labs: K 6.8 H", "Potassium", "H", "stated"),
    ("potassium 6.9 [HH]", "Potassium", "HH", "stated"),
    ("potassium 2.1 (critically low)", "Potassium", "LL", "stated"),
    ("WBC 25*", "White blood cell count", "A", "stated"),
    ("potassium of 3.2, which is low", "Potassium", "L", "stated"),
    ("She had an elevated troponin of 0.5.", "Troponin", "H", "stated"),
    ("Alkaline phosphatase elevated at 184.", "Alkaline phosphatase", "H", "stated"),
    ("a low potassium of 3.1", "Potassium", "L", "stated"),
    ("PTT 46 (elevated)", "Activated partial thromboplastin time", "H", "stated"),
    ("creatinine was normal", "Creatinine", "N", "stated"),
    ("Potassium 5.9 (ref 3.5-5.1)", "Potassium", "H", "reference_range"),
    ("Potassium 3.1 [3.5 - 5.1]", "Potassium", "L", "reference_range"),
    ("Potassium 4.1 (3.5-5.1)", "Potassium", "N", "reference_range"),
    ("CRP 1.4 (normal <0.4)", "C-reactive protein", "H", "reference_range"),
    ("Potassium 5.9 (H) (ref 3.5-5.1)", "Potassium", "H", "stated"),
    ("Potassium 5.3", "Potassium", None, None),
    ("bilirubin decreased to 2.1", "Bilirubin", None, None),
    ("a low-grade temperature of 100.3", "Body temperature", None, None),
]


@pytest.mark.parametrize(("text", "name", "interpretation", "source"), FLAGS)
def test_abnormal_flag_only_from_the_note(text, name, interpretation, source):
    (f,) = by_name(text, name)
    m = f.measurement
    assert m is not None
    assert (m.interpretation, m.interpretation_source) == (interpretation, source)


def test_stated_flag_is_inside_the_evidence():
    text = "She had an elevated troponin of 0.5."
    (f,) = run(text)
    assert f.evidence[0].quote == "elevated troponin of 0.5"


# (text, name, text_value)
QUALITATIVE = [
    ("UA: 1+ protein, trace blood, nitrite negative.", "Protein, urine", "1+"),
    ("UA: 1+ protein, trace blood, nitrite negative.", "Blood, urine", "trace"),
    ("UA: 1+ protein, trace blood, nitrite negative.", "Nitrite, urine", "negative"),
    ("Urinalysis: protein 2+, glucose neg", "Glucose, urine", "negative"),
    ("Urinalysis showed small leukocyte esterase.", "Leukocyte esterase, urine", "small"),
    ("Troponins negative x3.", "Troponin", "negative"),
]


@pytest.mark.parametrize(("text", "name", "text_value"), QUALITATIVE)
def test_qualitative_results_are_text_values(text, name, text_value):
    (f,) = by_name(text, name)
    assert f.measurement is not None
    assert f.measurement.text_value == text_value
    assert f.measurement.value is None


def test_urine_words_need_a_urinalysis_context():
    assert by_name("He has 1+ protein in his diet and trace blood on the tissue.", "Protein, urine") == []


def test_ph_is_arterial_only_in_an_abg_context():
    (f,) = by_name("ABG on arrival: pH 7.32, pCO2 48, pO2 65.", "pH, arterial blood")
    assert f.code is not None
    assert f.code.code == "2744-1"
    (g,) = by_name("pH 7.32 on the venous gas", "pH")
    assert g.code is None


def test_urine_ph_in_a_urinalysis_context():
    (f,) = run("UA was otherwise negative with a pH of 5.")
    assert (f.text, f.code) == ("pH, urine", None)


# (text, [(name, value)]) for panels written once for several values
PANELS = [
    ("H&H 13 and 39.", [("Hemoglobin", 13.0), ("Hematocrit", 39.0)]),
    ("H/H 9.7/28.2", [("Hemoglobin", 9.7), ("Hematocrit", 28.2)]),
    ("BUN/Cr 29/1.8", [("Blood urea nitrogen", 29.0), ("Creatinine", 1.8)]),
    ("PT/INR 14.2/1.1", [("Prothrombin time", 14.2), ("INR", 1.1)]),
    (
        "ABG 7.32/48/65 on room air",
        [("pH, arterial blood", 7.32), ("pCO2, arterial blood", 48.0), ("pO2, arterial blood", 65.0)],
    ),
]


@pytest.mark.parametrize(("text", "expected"), PANELS)
def test_panel_name_written_once_for_several_values(text, expected):
    found = run(text)
    assert [(f.text, f.measurement.value.value) for f in found if f.measurement and f.measurement.value] == expected
    for f in found:
        name_span, value_span = f.evidence
        assert text.startswith(name_span.quote)
        assert f.measurement is not None
        assert f.measurement.value is not None
        assert value_span.quote == f.measurement.value.text


# (text, preferred name that must NOT be found)
NOT_RESULTS = [
    ("MEDICATIONS: potassium 10 mEq daily.", "Potassium"),
    ("Potassium chloride 20 mEq p.o. daily.", "Chloride"),
    ("Continue magnesium oxide 400 mg.", "Magnesium"),
    ("calcium 500 mg with vitamin D", "Calcium"),
    ("Start iron 325 mg daily.", "Iron"),
    ("On a 2 g sodium diet.", "Sodium"),
    ("sodium 2 g diet", "Sodium"),
    ("creatinine clearance 45 mL/min", "Creatinine"),
    ("T2 weighted images of the spine", "Body temperature"),
    ("Dorsalis pedis pulse 2+ bilaterally.", "Heart rate"),
    ("Pulses are 2+ and symmetric.", "Heart rate"),
    ("creatinine 12/2005 was high", "Creatinine"),
    ("creatinine on 03/04/2021", "Creatinine"),
    ("Hemoglobin A1c 7.2", "Hemoglobin"),
    ("goal INR 2-3", "INR"),
    ("Keep K > 4 and Mg > 2.", "Potassium"),
    ("immunostains for CK-20 and CK-7 were positive", "Creatine kinase"),
    ("The heart weighs 350 grams.", "Body weight"),
    ("The right kidney weighs 160 grams.", "Body weight"),
    ("CSF analysis revealed: RBC 38, WBC 2, protein 36, glucose 76.", "Glucose"),
    ("CSF analysis revealed: RBC 38, WBC 2, protein 36, glucose 76.", "White blood cell count"),
    ("Femoral artery saturation equals 99.1%.", "Oxygen saturation"),
    ("mixed venous saturation 65%", "Oxygen saturation"),
    ("pulmonary artery pressure 40/15", "Blood pressure"),
    ("He lost weight, 10 pounds over a month.", "Body weight"),
    ("A 4 kg weight gain over 10 days.", "Body weight"),
    ("saturation went down to the 80s", "Oxygen saturation"),
    ("He is 34 years old, Temp 98 degrees F", "Heart rate"),
    ("blood sugars down 30 mg/dl with insulin", "Blood glucose"),
    ("Tylenol 500 mg, T 3 tablets", "Body temperature"),
    ("Physical therapy: PT 3 times a week.", "Prothrombin time"),
    ("The next line:\nSodium\n1. Hypertension", "Sodium"),
    ("pre-albumin 27", "Albumin"),
    ("non-HDL cholesterol 140", "HDL cholesterol"),
]


@pytest.mark.parametrize(("text", "name"), NOT_RESULTS)
def test_never_a_result(text, name):
    assert by_name(text, name) == []


# Gating: short ambiguous names need a vital-sign or laboratory context.
GATED = [
    ("K 4.1", "Potassium", False),
    ("Labs: K 4.1", "Potassium", True),
    ("Na 138 K 4.1 Cl 101", "Potassium", True),
    ("He said K 4 times.", "Potassium", False),
    ("T 98.6", "Body temperature", False),
    ("VITAL SIGNS: T 98.6", "Body temperature", True),
    ("T 98.6 P 80 R 16 BP 120/80", "Body temperature", True),
    ("T 98.6 P 80 R 16 BP 120/80", "Heart rate", True),
    ("T 98.6 P 80 R 16 BP 120/80", "Respiratory rate", True),
    ("Figure R 16 shows it.", "Respiratory rate", False),
    ("Cr 1.1", "Creatinine", False),
    ("BUN 15 Cr 1.1", "Creatinine", True),
    ("saturation 97% on room air", "Oxygen saturation", False),
    ("Vitals: BP 120/80, saturation 97% on room air", "Oxygen saturation", True),
]


@pytest.mark.parametrize(("text", "name", "found"), GATED)
def test_ambiguous_names_count_only_in_context(text, name, found):
    assert bool(by_name(text, name)) is found


def test_medication_section_is_skipped():
    text = "MEDICATIONS:\nMagnesium 2 at night.\n\nLABS:\nMagnesium 2.0\n"
    found = run(text)
    assert [(f.evidence[0].quote, f.section) for f in found] == [("Magnesium 2.0", "labs")]


ALL_CAPS = (
    "PHYSICAL EXAMINATION:\n"
    "VITAL SIGNS: TEMPERATURE 36.4 C, BLOOD PRESSURE 104/66, HEART RATE 92 IRREGULARLY IRREGULAR, RESPIRATORY RATE 22, "
    "OXYGEN SATURATION 91% ON ROOM AIR, WEIGHT 84.6 KG.\n\n"
    "LABORATORY DATA: SODIUM 132 MMOL/L (L), POTASSIUM 4.8 MMOL/L, CREATININE 1.6 MG/DL (H), BUN 38 MG/DL (H), "
    "NT-PROBNP 6840 PG/ML (H), TROPONIN T 0.02 NG/ML, HEMOGLOBIN 12.1 G/DL (L).\n"
)


def test_all_caps_note():
    got = [(f.text, f.measurement.value.value, f.measurement.interpretation) for f in run(ALL_CAPS)]  # type: ignore[union-attr]
    assert got == [
        ("Body temperature", 36.4, None),
        ("Blood pressure", 104.0, None),
        ("Heart rate", 92.0, None),
        ("Respiratory rate", 22.0, None),
        ("Oxygen saturation", 91.0, None),
        ("Body weight", 84.6, None),
        ("Sodium", 132.0, "L"),
        ("Potassium", 4.8, None),
        ("Creatinine", 1.6, "H"),
        ("Blood urea nitrogen", 38.0, "H"),
        ("NT-proBNP", 6840.0, "H"),
        ("Troponin T", 0.02, None),
        ("Hemoglobin", 12.1, "L"),
    ]


def test_all_caps_units_normalise_to_ucum():
    ucums = {f.text: f.measurement.value.ucum for f in run(ALL_CAPS)}  # type: ignore[union-attr]
    assert ucums["Sodium"] == "mmol/L"
    assert ucums["Creatinine"] == "mg/dL"
    assert ucums["Body temperature"] == "Cel"


GLUED = (
    "no acute distress.Vital Signs: Weight: 121.4. Blood pressure: 106/78. Pulse: 64. Respirations: 20. "
    "Temperature: 96.Extremities: Examination normal.LABS: White blood cell 8.1, hemoglobin 10.5, hematocrit 30.9, "
    "and platelets 380,000.Chem 7: Na 142, potassium 4.5, chloride 102, CO2 22.6, BUN 15, creatinine 1.2, glucose 186"
)


def test_glued_transcribed_style():
    got = [(f.text, f.measurement.value.value) for f in run(GLUED)]  # type: ignore[union-attr]
    assert got == [
        ("Body weight", 121.4),
        ("Blood pressure", 106.0),
        ("Heart rate", 64.0),
        ("Respiratory rate", 20.0),
        ("Body temperature", 96.0),
        ("White blood cell count", 8.1),
        ("Hemoglobin", 10.5),
        ("Hematocrit", 30.9),
        ("Platelet count", 380000.0),
        ("Sodium", 142.0),
        ("Potassium", 4.5),
        ("Chloride", 102.0),
        ("Carbon dioxide, total", 22.6),
        ("Blood urea nitrogen", 15.0),
        ("Creatinine", 1.2),
        ("Glucose", 186.0),
    ]


@pytest.mark.parametrize("text", [GLUED, ALL_CAPS, *(t for t, _ in LABS), *(t for t, _ in VITALS)])
def test_evidence_quotes_the_note_exactly(text):
    for f in run(text):
        for e in f.evidence:
            assert text[e.start : e.end] == e.quote
            assert e.record_id == "n1"
        m = f.measurement
        assert m is not None
        for q in (m.value, m.value2):
            for e in q.evidence if q else ():
                assert text[e.start : e.end] == e.quote
                assert f.evidence[0].start <= e.start
                assert e.end <= f.evidence[-1].end


def test_evidence_covers_name_and_value():
    (f,) = run("potassium of 3.2")
    assert f.evidence[0].quote == "potassium of 3.2"
    assert f.measurement is not None
    assert f.measurement.value is not None
    assert f.measurement.value.evidence[0].quote == "3.2"


def test_producer_names_the_rule_and_its_version():
    found = run("Pulse 80. Sodium 133. H&H 13/39.")
    assert [f.evidence[0].producer for f in found] == [
        "medlens.rule.notes.vitals.heart_rate.v1",
        "medlens.rule.notes.labs.sodium.v1",
        "medlens.rule.notes.labs.hemoglobin_hematocrit.v1",
        "medlens.rule.notes.labs.hemoglobin_hematocrit.v1",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Troponins negative x3.",
        "Urinalysis: no leukocyte esterase, nitrite negative.",
        "Denies fever, chills. Temp 98.6 F",
    ],
)
def test_a_result_with_its_value_is_never_negated(text):
    found = [f for f in run(text) if f.text in {"Troponin", "Nitrite, urine", "Body temperature"}]
    assert found
    assert all(not f.assertion.negated for f in found)
    assert all(c.status != "negated" for f in found for c in f.assertion.cues)


@pytest.mark.parametrize(
    ("text", "status"),
    [("Call if temperature > 38.5 C.", "hypothetical"), ("In 2006 creatinine was 1.8.", "historical")],
)
def test_other_assertion_statuses_are_kept(text, status):
    (f,) = run(text)
    assert status in f.assertion.statuses


def test_section_and_assertion_are_set():
    text = "HISTORY OF PRESENT ILLNESS: No fever.\n\nLABS: Sodium 133\n"
    (f,) = run(text)
    assert f.section == "labs"
    assert not f.assertion.negated


def test_examples_ground_every_finding():
    folder = resources.files("medlens").joinpath("examples", "notes")
    if not folder.is_dir():
        pytest.skip("example notes are not bundled in this tree")
    seen = 0
    for path in folder.iterdir():
        if not path.name.endswith(".txt"):
            continue
        text = path.read_text(encoding="utf-8")
        for f in run(text):
            seen += 1
            for e in f.evidence:
                e.verify(text)
    assert seen > 0


# --- lexicons


def test_vital_sign_codes_follow_the_fhir_vital_signs_profile():
    vitals, _ = load_measurement_lexicons()
    codes = {e.name: e.loinc for e in vitals.entries}
    assert codes["blood_pressure"] == "85354-9"
    assert codes["systolic_blood_pressure"] == "8480-6"
    assert codes["diastolic_blood_pressure"] == "8462-4"
    assert codes["heart_rate"] == "8867-4"
    assert codes["respiratory_rate"] == "9279-1"
    assert codes["body_temperature"] == "8310-5"
    assert codes["oxygen_saturation_pulse_oximetry"] == "59408-5"
    assert codes["oxygen_saturation"] == "2708-6"
    assert codes["body_weight"] == "29463-7"
    assert codes["body_height"] == "8302-2"
    assert codes["body_mass_index"] == "39156-5"
    bp = next(e for e in vitals.entries if e.name == "blood_pressure")
    assert [c.loinc for c in bp.components] == ["8480-6", "8462-4"]


def test_lexicons_name_their_source_and_licence():
    for lex in load_measurement_lexicons():
        assert "LOINC" in lex.source
        assert "loinc.org/license" in lex.licence


def test_ambiguous_tests_have_no_code():
    _, labs = load_measurement_lexicons()
    codes = {e.name: e.loinc for e in labs.entries}
    for name in ("troponin", "bilirubin", "lactate", "lactate_dehydrogenase", "glomerular_filtration_rate", "ph"):
        assert codes[name] is None


def test_entry_rejects_exact_spelling_that_is_not_a_synonym():
    with pytest.raises(ValidationError):
        MeasurementEntry(name="x", preferred="X", synonyms=("x",), exact=("Y",))


def test_entry_rejects_code_without_display():
    with pytest.raises(ValidationError):
        MeasurementEntry(name="x", preferred="X", synonyms=("x",), loinc="2951-2")


def test_lexicon_rejects_unknown_keys_contexts_and_panel_members():
    base = {
        "source": "s",
        "licence": "l",
        "version": 1,
        "type": "lab",
        "context": {"sections": ["labs"]},
        "entries": [{"name": "x", "preferred": "X", "synonyms": ["x"]}],
    }
    MeasurementLexicon.model_validate(base)
    for bad in (
        {**base, "colour": "red"},
        {**base, "entries": [{"name": "x", "preferred": "X", "synonyms": ["x"], "context": "nowhere"}]},
        {**base, "panels": [{"name": "p", "synonyms": ["p"], "members": ["x", "y"]}]},
        {**base, "exclude_contexts": ["nowhere"]},
    ):
        with pytest.raises(ValidationError):
            MeasurementLexicon.model_validate(bad)
