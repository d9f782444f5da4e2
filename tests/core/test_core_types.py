import pytest
from pydantic import ValidationError

from medlens.core import Assertion, Claim, Cue, Document, Evidence, GroundingError, RecordResult, Span, TaskResult

TEXT = "Denies chest pain. History of hypertension."


def test_evidence_of_quotes_the_text():
    ev = Evidence.of(TEXT, "n1", 7, 17, "test.rule.v1")
    assert ev.quote == "chest pain"
    ev.verify(TEXT)


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 2), (40, 99)])
def test_evidence_outside_text_is_a_grounding_error(start, end):
    with pytest.raises(GroundingError) as info:
        Evidence.of(TEXT, "n1", start, end, "test.rule.v1")
    assert info.value.code == "ML401"


def test_evidence_with_wrong_quote_fails_verification():
    ev = Evidence(record_id="n1", start=0, end=6, quote="Admits", producer="x.v1")
    with pytest.raises(GroundingError) as info:
        ev.verify(TEXT)
    assert info.value.code == "ML402"


def test_span_past_end_fails_check():
    with pytest.raises(GroundingError):
        Span(record_id="n1", start=0, end=len(TEXT) + 1).check(TEXT)


def test_span_end_before_start_is_invalid():
    with pytest.raises(ValidationError):
        Span(record_id="n1", start=5, end=4)


def test_supported_claim_needs_evidence():
    with pytest.raises(ValidationError, match="evidence"):
        Claim()


def test_unsupported_claim_may_lack_evidence():
    assert Claim(supported=False).evidence == ()


def test_assertion_statuses_in_canonical_order():
    cue = Cue(status="negated", start=0, end=6, text="Denies", rule="r.v1")
    a = Assertion(negated=True, family=True, cues=(cue,))
    assert a.statuses == ("negated", "family")


def test_records_are_frozen_and_reject_unknown_fields():
    doc = Document(id="n1", text=TEXT)
    with pytest.raises(ValidationError):
        doc.id = "n2"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Document(id="n1", text=TEXT, colour="red")  # type: ignore[call-arg]


def test_record_result_serialises_subclass_fields():
    class Payload(TaskResult):
        labels: tuple[str, ...] = ()

    rr = RecordResult(id="n1", kind="note", tasks={"t": Payload(name="t.v1", backend="rules", labels=("a",))})
    assert '"labels":["a"]' in rr.to_json()


def test_evidence_of_equals_validated_evidence():
    ev = Evidence.of(TEXT, "n1", 7, 17, "test.rule.v1", score=0.5, explanation="why")
    assert ev == Evidence.model_validate(ev.model_dump())


def test_evidence_of_rejects_score_out_of_range():
    with pytest.raises(ValueError, match="score"):
        Evidence.of(TEXT, "n1", 7, 17, "test.rule.v1", score=1.5)
