from __future__ import annotations

import copy
from typing import Any

import pytest
from server_support import NOTE, Service


def _one_result(service: Service) -> dict[str, Any]:
    (record_id,) = service.submit(NOTE)
    service.run([record_id])
    result: dict[str, Any] = service.client.get(f"/records/{record_id}/results", headers=service.reader).json()[0]
    return result


def _decide(service: Service, result_id: str, **body: Any) -> Any:
    return service.client.post(f"/review/items/{result_id}/decision", json=body, headers=service.reviewer)


def test_queue_lists_results_needing_review(service: Service) -> None:
    result = _one_result(service)
    page = service.client.get(f"/projects/{service.project_id}/review/queue", headers=service.reader).json()
    assert page["total"] == 1
    assert page["items"][0]["result_id"] == result["id"]


def test_queue_puts_flagged_results_first(service: Service) -> None:
    from medlens.server.worker import review_flags

    payload = {"findings": [{"supported": False, "evidence": []}, {"evidence": [{"score": 0.5}]}]}
    flags, confidence, priority = review_flags(payload, result_id="r", min_confidence=0.8, sample_rate=0.0)
    assert (flags, confidence, priority) == (["unsupported", "low_confidence"], 0.5, 0)


def test_sampling_flags_about_the_sample_rate() -> None:
    from medlens.server.worker import review_flags

    sampled = sum(
        "sampled" in review_flags({}, result_id=f"{i:032x}", min_confidence=0.8, sample_rate=0.2)[0]
        for i in range(2000)
    )
    assert 300 < sampled < 500


def test_review_item_has_document_and_reason_codes(service: Service) -> None:
    result = _one_result(service)
    item = service.client.get(f"/review/items/{result['id']}", headers=service.reader).json()
    assert item["record"]["document"]["text"] == NOTE
    assert "correct" in item["reason_codes"]["accept"]


@pytest.mark.parametrize(
    ("decision", "reason", "status"), [("accept", "correct", "accepted"), ("reject", "wrong_concept", "rejected")]
)
def test_decision_moves_the_result(service: Service, decision: str, reason: str, status: str) -> None:
    result = _one_result(service)
    r = _decide(service, result["id"], decision=decision, reason_code=reason)
    assert r.status_code == 200, r.text
    assert service.client.get(f"/results/{result['id']}", headers=service.reader).json()["status"] == status
    page = service.client.get(f"/projects/{service.project_id}/review/queue", headers=service.reader).json()
    assert page["total"] == 0


def test_second_decision_is_409(service: Service) -> None:
    result = _one_result(service)
    assert _decide(service, result["id"], decision="accept", reason_code="correct").status_code == 200
    assert _decide(service, result["id"], decision="reject", reason_code="other").status_code == 409


def test_reason_code_must_fit_the_decision(service: Service) -> None:
    result = _one_result(service)
    r = _decide(service, result["id"], decision="accept", reason_code="wrong_concept")
    assert r.status_code == 422


def test_reader_cannot_decide(service: Service) -> None:
    result = _one_result(service)
    r = service.client.post(
        f"/review/items/{result['id']}/decision",
        json={"decision": "accept", "reason_code": "correct"},
        headers=service.reader,
    )
    assert r.status_code == 403


def test_edit_keeps_a_grounded_payload(service: Service) -> None:
    result = _one_result(service)
    edited = copy.deepcopy(result["payload"])
    edited["findings"] = edited["findings"][:1]
    r = _decide(service, result["id"], decision="edit", reason_code="missing_finding", edited_payload=edited)
    assert r.status_code == 200, r.text
    item = service.client.get(f"/review/items/{result['id']}", headers=service.reader).json()
    assert item["result"]["status"] == "edited"
    assert item["decisions"][0]["decision"] == "edit"
    assert item["result"]["payload"] == result["payload"]  # the AI output is kept as produced


def test_edit_with_a_quote_not_in_the_text_is_422(service: Service) -> None:
    result = _one_result(service)
    edited = copy.deepcopy(result["payload"])
    edited["findings"][0]["evidence"][0]["quote"] = "something else entirely"
    r = _decide(service, result["id"], decision="edit", reason_code="wrong_span", edited_payload=edited)
    assert r.status_code == 422
    assert "ML402" in r.text


def test_edit_with_an_invalid_payload_is_422_without_echo(service: Service) -> None:
    result = _one_result(service)
    r = _decide(
        service, result["id"], decision="edit", reason_code="other", edited_payload={"name": "SECRET-VALUE-9", "x": 1}
    )
    assert r.status_code == 422
    assert "SECRET-VALUE-9" not in r.text


def test_decisions_are_audited(service: Service) -> None:
    from medlens.store.audit_store import verify_database

    result = _one_result(service)
    _decide(service, result["id"], decision="accept", reason_code="correct")
    import sqlalchemy as sa

    engine = sa.create_engine(service.db_url)
    with engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action, actor FROM audit_entries ORDER BY seq")).all()
    engine.dispose()
    assert ("review.accept", f"user:{service.reviewer_id}") in [tuple(a) for a in actions]
    assert verify_database(service.db_url).ok
