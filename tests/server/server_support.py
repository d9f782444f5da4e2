"""Shared pieces of the service tests (a module with a unique name, so imports never hit another conftest)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

SENTINEL = "QX7-SENTINEL-ZEBRA"
NOTE = (
    "Chief complaint: chest pain.\n"
    f"History of present illness: {SENTINEL} reports pressure-like chest pain for two days.\n"
    "Past medical history: hypertension and type 2 diabetes mellitus.\n"
    "Medications: metformin 500 mg po bid, lisinopril 10 mg daily.\n"
    "Allergies: penicillin.\n"
    "Vitals: BP 150/90, HR 88.\n"
    "Assessment: chest pain, rule out acute coronary syndrome.\n"
)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Service:
    app: FastAPI
    client: TestClient
    db_url: str
    project_id: str
    admin: dict[str, str]
    reviewer: dict[str, str]
    reader: dict[str, str]
    outsider: dict[str, str]
    reviewer_id: str

    def submit(self, *texts: str, patient_id: str | None = "p-1") -> list[str]:
        docs = [
            {"id": f"doc-{i}-{time.monotonic_ns()}", "text": t, "patient_id": patient_id} for i, t in enumerate(texts)
        ]
        r = self.client.post(f"/projects/{self.project_id}/records", json={"documents": docs}, headers=self.reviewer)
        assert r.status_code == 201, r.text
        return [rec["id"] for rec in r.json()["records"]]

    def run(self, record_ids: list[str], tasks: tuple[str, ...] = ("notes.extract",)) -> dict[str, Any]:
        r = self.client.post(
            f"/projects/{self.project_id}/jobs",
            json={"tasks": list(tasks), "record_ids": record_ids},
            headers=self.reviewer,
        )
        assert r.status_code == 202, r.text
        return self.wait(r.json()["id"])

    def wait(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.client.get(f"/jobs/{job_id}", headers=self.reviewer).json()
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError("job did not finish")
