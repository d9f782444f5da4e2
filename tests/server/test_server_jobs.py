from __future__ import annotations

from server_support import NOTE, SENTINEL, Service

from medlens.store.audit_store import verify_database


def test_job_runs_notes_extract_and_stores_results(service: Service) -> None:
    (record_id,) = service.submit(NOTE)
    job = service.run([record_id])
    assert (job["status"], job["n_done"], job["n_failed"]) == ("done", 1, 0)
    results = service.client.get(f"/records/{record_id}/results", headers=service.reader).json()
    assert [r["task"] for r in results] == ["notes.extract"]
    assert results[0]["status"] == "needs_review"
    assert results[0]["payload"]["findings"]


def test_job_runs_radiology_labels(service: Service) -> None:
    (record_id,) = service.submit("FINDINGS: The heart is enlarged. No pleural effusion.\nIMPRESSION: Cardiomegaly.")
    job = service.run([record_id], tasks=("radiology.labels",))
    assert job["status"] == "done"
    results = service.client.get(f"/records/{record_id}/results", headers=service.reader).json()
    assert results[0]["task_name"] == "medlens.task.radiology.labels.v1"


def test_unknown_task_is_422(service: Service) -> None:
    (record_id,) = service.submit(NOTE)
    r = service.client.post(
        f"/projects/{service.project_id}/jobs",
        json={"tasks": ["nope.task"], "record_ids": [record_id]},
        headers=service.reviewer,
    )
    assert r.status_code == 422


def test_record_of_another_project_is_404_for_a_job(service: Service) -> None:
    other = service.client.post("/projects", json={"name": "other"}, headers=service.admin).json()["id"]
    r = service.client.post(
        f"/projects/{other}/records", json={"documents": [{"id": "x", "text": "t"}]}, headers=service.admin
    )
    foreign = r.json()["records"][0]["id"]
    r = service.client.post(
        f"/projects/{service.project_id}/jobs",
        json={"tasks": ["notes.extract"], "record_ids": [foreign]},
        headers=service.reviewer,
    )
    assert r.status_code == 404


def test_every_run_is_audited_with_hashes_only(service: Service) -> None:
    (record_id,) = service.submit(NOTE)
    service.run([record_id])
    report = verify_database(service.db_url)
    assert report.ok
    from sqlalchemy import create_engine, text

    engine = create_engine(service.db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_entries ORDER BY seq")).mappings().all()
    engine.dispose()
    runs = [r for r in rows if r["action"] == "run"]
    assert len(runs) == 1
    assert record_id in runs[0]["object_ids"]
    assert runs[0]["model"] == "medlens.task.notes.extract.v1:rules"
    dump = repr([dict(r) for r in rows])
    assert SENTINEL not in dump
    assert "chest pain" not in dump


def test_patient_results_use_a_key_not_the_patient_id(service: Service) -> None:
    first, second = service.submit(NOTE, "Assessment: hypertension.", patient_id="MRN-000123")
    service.run([first, second])
    key = service.client.post(
        f"/projects/{service.project_id}/patient-key", json={"patient_id": "MRN-000123"}, headers=service.reader
    ).json()["patient_key"]
    assert "000123" not in key
    results = service.client.get(f"/projects/{service.project_id}/patients/{key}/results", headers=service.reader)
    assert {r["record_id"] for r in results.json()} == {first, second}


def test_record_urls_use_opaque_ids(service: Service) -> None:
    r = service.client.post(
        f"/projects/{service.project_id}/records",
        json={"documents": [{"id": "MRN-42-note", "text": "x", "patient_id": "MRN-42"}]},
        headers=service.reviewer,
    )
    record = r.json()["records"][0]
    assert "MRN-42" not in record["id"]  # a random hex id may contain "42" by chance
    assert len(record["id"]) == 32


def test_duplicate_record_id_is_409(service: Service) -> None:
    body = {"documents": [{"id": "same", "text": "a"}]}
    assert (
        service.client.post(f"/projects/{service.project_id}/records", json=body, headers=service.reviewer).status_code
        == 201
    )
    assert (
        service.client.post(f"/projects/{service.project_id}/records", json=body, headers=service.reviewer).status_code
        == 409
    )


def test_fhir_document_reference_is_stored(service: Service) -> None:
    import base64

    resource = {
        "resourceType": "DocumentReference",
        "id": "dr1",
        "status": "current",
        "content": [
            {"attachment": {"contentType": "text/plain", "data": base64.b64encode(b"Assessment: asthma.").decode()}}
        ],
    }
    r = service.client.post(f"/projects/{service.project_id}/records/fhir", json=resource, headers=service.reviewer)
    assert r.status_code == 201, r.text
    assert r.json()["records"][0]["external_id"] == "dr1"


def test_text_files_are_stored(service: Service) -> None:
    files = [("files", ("note-a.txt", b"Assessment: asthma.", "text/plain"))]
    r = service.client.post(f"/projects/{service.project_id}/records/files", files=files, headers=service.reviewer)
    assert r.status_code == 201, r.text
    assert r.json()["records"][0]["external_id"] == "note-a.txt"


def test_logs_never_hold_document_text(service: Service, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    with caplog.at_level(logging.DEBUG):
        (record_id,) = service.submit(NOTE)
        service.run([record_id])
        service.client.get(f"/records/{record_id}", headers=service.reader)
    assert SENTINEL not in caplog.text


def test_openapi_schema_is_published(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    assert {"/projects/{project_id}/review/queue", "/review/items/{result_id}/decision"} <= paths.keys()
