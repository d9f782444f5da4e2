"""Service fixtures: an app on each database (``db_url`` comes from tests/conftest.py) with users and tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import Service, auth

from medlens.server.accounts import add_token, add_user
from medlens.server.app import create_app
from medlens.server.settings import ServerSettings


def _settings(db_url: str, **overrides: Any) -> ServerSettings:
    values: dict[str, Any] = {
        "db_url": db_url,
        "secret_key": "test-secret-key",
        "review_sample_rate": 0.0,
        "workers": 1,
        "queue_size": 4,
        **overrides,
    }
    return ServerSettings(**values)


@pytest.fixture
def make_service(db_url: str) -> Iterator[Callable[..., Service]]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> Service:
        if not clients:
            add_user(db_url, "admin", "admin", password="admin-password-123")
        admin = auth(add_token(db_url, "admin"))
        app = create_app(_settings(db_url, **overrides))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        project_id = client.post("/projects", json={"name": f"p{len(clients)}"}, headers=admin).json()["id"]
        headers: dict[str, dict[str, str]] = {}
        ids: dict[str, str] = {}
        for name, role, member in [
            ("reviewer", "reviewer", True),
            ("reader", "reader", True),
            ("outsider", "reviewer", False),
        ]:
            username = f"{name}{len(clients)}"
            r = client.post(
                "/users", json={"username": username, "role": role, "password": "a-long-password-1"}, headers=admin
            )
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
            token = client.post("/auth/tokens", json={"name": "t", "user_id": ids[name]}, headers=admin).json()["token"]
            headers[name] = auth(token)
            if member:
                r = client.put(f"/projects/{project_id}/members", json={"user_id": ids[name]}, headers=admin)
                assert r.status_code == 204
        return Service(
            app=app,
            client=client,
            db_url=db_url,
            project_id=project_id,
            admin=admin,
            reviewer=headers["reviewer"],
            reader=headers["reader"],
            outsider=headers["outsider"],
            reviewer_id=ids["reviewer"],
        )

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def service(make_service: Callable[..., Service]) -> Service:
    return make_service()
