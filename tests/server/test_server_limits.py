from __future__ import annotations

from collections.abc import Callable

from server_support import SENTINEL, Service


def test_oversized_body_is_413(make_service: Callable[..., Service]) -> None:
    service = make_service(max_body_bytes=2048)
    body = {"documents": [{"id": "big", "text": "x" * 5000}]}
    r = service.client.post(f"/projects/{service.project_id}/records", json=body, headers=service.reviewer)
    assert r.status_code == 413


def test_oversized_streamed_body_is_413(make_service: Callable[..., Service]) -> None:
    service = make_service(max_body_bytes=2048)

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 1000

    headers = {**service.reviewer, "Content-Type": "application/json"}
    r = service.client.post(f"/projects/{service.project_id}/records", content=chunks(), headers=headers)
    assert r.status_code == 413


def test_too_many_documents_is_413(make_service: Callable[..., Service]) -> None:
    service = make_service(max_records_per_request=2)
    docs = [{"id": str(i), "text": "t"} for i in range(3)]
    r = service.client.post(
        f"/projects/{service.project_id}/records", json={"documents": docs}, headers=service.reviewer
    )
    assert r.status_code == 413


def test_validation_error_never_echoes_input(service: Service) -> None:
    bad = {
        "documents": [
            {"id": "a", "text": 12345, "kind": SENTINEL, SENTINEL: SENTINEL, "date": SENTINEL},
        ]
    }
    r = service.client.post(f"/projects/{service.project_id}/records", json=bad, headers=service.reviewer)
    assert r.status_code == 422
    assert SENTINEL not in r.text
    errors = r.json()["detail"]
    assert {e["type"] for e in errors} >= {"extra_forbidden", "literal_error"}
    assert ["body", "documents", 0, "kind"] in [e["loc"] for e in errors]


def test_invalid_json_never_echoes_input(service: Service) -> None:
    headers = {**service.reviewer, "Content-Type": "application/json"}
    r = service.client.post(f"/projects/{service.project_id}/records", content=f'{{"{SENTINEL}', headers=headers)
    assert r.status_code == 422
    assert SENTINEL not in r.text


def test_full_job_queue_is_503_with_retry_after(make_service: Callable[..., Service]) -> None:
    service = make_service(workers=1, queue_size=0)
    worker = service.app.state.ctx.worker
    assert worker.reserve()  # the only slot is taken
    try:
        (record_id,) = service.submit("Assessment: asthma.")
        r = service.client.post(
            f"/projects/{service.project_id}/jobs",
            json={"tasks": ["notes.extract"], "record_ids": [record_id]},
            headers=service.reviewer,
        )
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "5"
    finally:
        worker.release()
