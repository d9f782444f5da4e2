"""Schemathesis over the published OpenAPI schema, against the ASGI app with an admin token: no 5xx answers.

Bounded: 20 examples per operation, derandomized (a fixed seed per operation), on SQLite with a project, a member
and a few stored records so that generated requests reach more than the 404 paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from server_support import NOTE

from medlens.server.accounts import add_member, add_project, add_token, add_user
from medlens.server.app import create_app
from medlens.server.settings import ServerSettings

pytestmark = pytest.mark.slow
_ADMIN: dict[str, str] = {}


@pytest.fixture
def api_schema(tmp_path: Path) -> Any:
    db_url = f"sqlite:///{tmp_path / 'medlens.db'}"
    add_user(db_url, "admin", "admin", password="admin-password-123")
    add_user(db_url, "member", "reviewer", password="member-password-123")
    project_id = add_project(db_url, "fuzz")
    add_member(db_url, project_id, "member")
    _ADMIN["Authorization"] = f"Bearer {add_token(db_url, 'admin')}"
    settings_ = ServerSettings(
        db_url=db_url, secret_key="fuzz-key", workers=1, queue_size=2, rate_limit_per_minute=1e6, rate_limit_burst=10**6
    )
    app = create_app(settings_)
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        docs = [{"id": f"d{i}", "text": NOTE, "patient_id": "p-1"} for i in range(3)]
        r = client.post(f"/projects/{project_id}/records", json={"documents": docs}, headers=_ADMIN)
        assert r.status_code == 201
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors(api_schema: Any) -> None:
    # One Hypothesis run per operation (schemathesis' own pytest integration does not load under pytest 9).
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @settings(
            max_examples=20,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=_ADMIN)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        run()
    assert failures == []
