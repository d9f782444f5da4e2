"""Computed visual question answering: DICOM tags, geometry, HU-engine masks, delegation to a vision model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from medlens.imaging.phantom import ct_phantom
from medlens.imaging.volume import Volume
from medlens.imaging.vqa import VisionAnswerer, answer, parse_question, render_png

CT_TAGS = {
    "Modality": "CT",
    "BodyPartExamined": "CHEST",
    "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
}


@pytest.fixture(scope="module")
def phantom() -> Volume:
    return ct_phantom()[0]


class FakeVlm:
    """Implements the VisionAnswerer protocol with a scripted answer and records what it was sent."""

    name = "fake-vlm"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.seen: list[tuple[str, bytes]] = []

    def answer(self, question: str, png_bytes: bytes) -> str:
        self.seen.append((question, png_bytes))
        return self.reply


@pytest.mark.parametrize(
    ("question", "intent", "answer_type"),
    [
        ("Is this a CT or an MRI?", "modality", "closed"),
        ("What imaging modality was used?", "modality", "open"),
        ("In what plane was this image taken?", "plane", "open"),
        ("Is this image of a saggital plane?", "plane", "closed"),
        ("Is this a PA film?", "plane", "closed"),
        ("Is this an image of the chest?", "body_part", "closed"),
        ("Was IV contrast given to the patient?", "contrast", "closed"),
        ("Which side was imaged?", "laterality", "open"),
        ("Are the lungs visible?", "structure_presence", "closed"),
        ("What is the volume of the left lung?", "structure_volume", "open"),
        ("Is there a mass in the left lung?", None, "closed"),
        ("Is there contrast in the bowels?", None, "closed"),
        ("Was the arterial contrast phase selected?", None, "closed"),
        ("What is abnormal about the heart?", None, "open"),
    ],
)
def test_question_intent_table(question: str, intent: str | None, answer_type: str) -> None:
    parsed = parse_question(question)
    assert (parsed.intent, parsed.answer_type) == (intent, answer_type)


def test_structure_phrase_resolves_to_side() -> None:
    assert parse_question("What is the volume of the right lung?").structure == "lung_right"


@pytest.mark.parametrize(
    ("question", "tags", "expected"),
    [
        ("Is this a CT or an MRI?", {"Modality": "CT"}, "CT"),
        ("Is this a CT or an MRI?", {"Modality": "MR"}, "MRI"),
        ("Is this an MRI?", {"Modality": "CT"}, "no"),
        ("What imaging modality was used?", {"Modality": "DX"}, "x-ray"),
        ("Is this an image of the chest?", {"BodyPartExamined": "CHEST"}, "yes"),
        ("Is this an image of the chest?", {"BodyPartExamined": "ABDOMEN"}, "no"),
        ("Is this a PA film?", {"Modality": "CR", "ViewPosition": "PA"}, "yes"),
        ("Is this a PA or AP film?", {"Modality": "CR", "ViewPosition": "AP"}, "AP"),
        ("Is this image of a saggital plane?", {"ImageOrientationPatient": [0, 1, 0, 0, 0, -1]}, "yes"),
        ("In what plane was this image taken?", {"ImageOrientationPatient": [1, 0, 0, 0, 0, -1]}, "coronal"),
        ("Was IV contrast given to the patient?", {"ContrastBolusAgent": "IOHEXOL", "ContrastBolusRoute": "IV"}, "yes"),
        ("Is this a non-contrast CT?", {"ContrastBolusAgent": "IOHEXOL"}, "no"),
        ("Is this image taken with or without contrast?", {"ContrastBolusAgent": "NONE"}, "without contrast"),
        ("Which side was imaged?", {"ImageLaterality": "L"}, "left"),
    ],
)
def test_tag_answer_table(phantom: Volume, question: str, tags: dict[str, object], expected: str) -> None:
    res = answer(question, phantom, dicom_tags=tags)
    assert (res.status, res.answer) == ("answered", expected)
    assert res.evidence
    assert res.evidence[0].kind == "dicom_tag"


def test_absent_contrast_tags_are_not_read_as_no_contrast(phantom: Volume) -> None:
    res = answer("Was IV contrast given to the patient?", phantom, dicom_tags={"Modality": "CT"})
    assert res.status == "cannot_answer_offline"


def test_route_question_without_route_tag_is_not_answered(phantom: Volume) -> None:
    res = answer("Was IV contrast given to the patient?", phantom, dicom_tags={"ContrastBolusAgent": "IOHEXOL"})
    assert res.status == "cannot_answer_offline"


def test_oblique_orientation_gets_no_plane(phantom: Volume) -> None:
    c = np.sqrt(0.5)
    res = answer("What is the plane?", phantom, dicom_tags={"ImageOrientationPatient": [1, 0, 0, 0, c, -c]})
    assert res.status == "cannot_answer_offline"


def test_plane_from_volume_geometry_when_no_tags(phantom: Volume) -> None:
    res = answer("In what plane was this image taken?", phantom)
    assert (res.answer, res.evidence[0].kind) == ("axial", "geometry")


def test_isotropic_nifti_like_volume_gets_no_plane() -> None:
    vol = Volume(array=np.zeros((4, 4, 4), dtype=np.int16), spacing=(1.0, 1.0, 1.0))
    assert answer("In what plane was this image taken?", vol).status == "cannot_answer_offline"


def test_lung_presence_from_mask(phantom: Volume) -> None:
    res = answer("Are the lungs visible?", phantom)
    assert (res.answer, res.evidence[0].kind) == ("yes", "mask")
    assert res.evidence[0].voxel_count
    assert res.evidence[0].voxel_count > 0


def test_lung_absent_below_the_chest() -> None:
    vol, truth = ct_phantom()
    no_lung = vol.with_array(np.where(truth["lungs"], np.int16(40), vol.array).astype(np.int16))
    assert answer("Are the lungs visible?", no_lung).answer == "no"


def test_left_lung_volume_matches_truth_within_5_percent(phantom: Volume) -> None:
    _, truth = ct_phantom()
    res = answer("What is the volume of the left lung?", phantom)
    expected = truth["lung_left"].sum() * phantom.voxel_volume_ml
    assert res.evidence[0].volume_ml == pytest.approx(expected, rel=0.05)
    assert res.answer is not None
    assert res.answer.endswith("mL")


def test_structure_question_on_mr_is_not_answered(phantom: Volume) -> None:
    mr = Volume(array=phantom.array, spacing=phantom.spacing, modality="MR")
    assert answer("Are the lungs visible?", mr).status == "cannot_answer_offline"


def test_2d_picture_without_tags_is_never_answered_offline() -> None:
    res = answer("Is this a CT or an MRI?", np.zeros((32, 32), dtype=np.uint8))
    assert (res.status, res.answer) == ("cannot_answer_offline", None)


def test_png_bytes_input_is_read() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(buf, format="PNG")
    assert answer("What organ is this?", buf.getvalue()).status == "cannot_answer_offline"


def test_fake_vlm_satisfies_protocol() -> None:
    assert isinstance(FakeVlm("x"), VisionAnswerer)


def test_uncomputable_question_is_delegated_to_vlm(phantom: Volume) -> None:
    vlm = FakeVlm("a nodule")
    res = answer("What is abnormal about the lung?", phantom, vlm=vlm)
    assert (res.status, res.answer, res.engine) == ("delegated", "a nodule", "fake-vlm")
    assert vlm.seen[0][1].startswith(b"\x89PNG")


def test_disagreement_flagged_when_vlm_differs(phantom: Volume) -> None:
    res = answer("Is this a CT or an MRI?", phantom, dicom_tags={"Modality": "CT"}, vlm=FakeVlm("This is an MRI."))
    assert (res.status, res.answer, res.disagreement) == ("answered", "CT", True)


def test_agreement_when_vlm_names_same_modality(phantom: Volume) -> None:
    res = answer("Is this a CT or an MRI?", phantom, dicom_tags={"Modality": "CT"}, vlm=FakeVlm("Computed tomography"))
    assert res.disagreement is False


def test_yes_no_disagreement(phantom: Volume) -> None:
    res = answer("Are the lungs visible?", phantom, vlm=FakeVlm("No, they are not."))
    assert res.disagreement is True


def test_failing_vlm_keeps_offline_answer(phantom: Volume) -> None:
    class Broken:
        def answer(self, question: str, png_bytes: bytes) -> str:
            raise RuntimeError("down")

    res = answer("Is this a CT or an MRI?", phantom, dicom_tags={"Modality": "CT"}, vlm=Broken())
    assert (res.answer, res.vlm_answer) == ("CT", None)


def test_render_png_of_volume_is_png(phantom: Volume) -> None:
    data = render_png(phantom)
    assert Image.open(io.BytesIO(data)).size == (phantom.shape[2], phantom.shape[1])
