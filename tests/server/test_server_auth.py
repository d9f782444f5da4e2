from __future__ import annotations

from collections.abc import Callable

import pytest
from server_support import NOTE, Service

PUBLIC = {"/health", "/auth/login"}


def test_health_needs_no_authentication(service: Service) -> None:
    assert service.client.get("/health").json() == {"status": "ok"}


def test_every_other_route_needs_authentication(service: Service) -> None:
    checked = 0
    for template, operations in service.app.openapi()["paths"].items():
        if template in PUBLIC:
            continue
        path = template.replace("{", "").replace("}", "")
        for method in operations:
            r = service.client.request(method.upper(), path)
            assert r.status_code == 401, (method, template, r.status_code)
            checked += 1
    assert checked > 20


def test_unknown_token_is_401(service: Service) -> None:
    r = service.client.get("/auth/me", headers={"Authorization": "Bearer mlt_not-a-real-token"})
    assert r.status_code == 401


def test_revoked_token_is_401(service: Service) -> None:
    created = service.client.post("/auth/tokens", json={"name": "temp"}, headers=service.reader).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert service.client.get("/auth/me", headers=headers).status_code == 200
    assert service.client.delete(f"/auth/tokens/{created['id']}", headers=headers).status_code == 204
    assert service.client.get("/auth/me", headers=headers).status_code == 401


def test_token_listing_shows_prefixes_not_tokens(service: Service) -> None:
    created = service.client.post("/auth/tokens", json={"name": "temp"}, headers=service.reader).json()
    listed = service.client.get("/auth/tokens", headers=service.reader).json()
    assert all(t["token"] is None for t in listed)
    assert created["prefix"] in {t["prefix"] for t in listed}


def test_reader_cannot_submit_records(service: Service) -> None:
    r = service.client.post(
        f"/projects/{service.project_id}/records",
        json={"documents": [{"id": "a", "text": "b"}]},
        headers=service.reader,
    )
    assert r.status_code == 403


def test_reviewer_cannot_create_users(service: Service) -> None:
    r = service.client.post("/users", json={"username": "x", "role": "admin"}, headers=service.reviewer)
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["/projects/{p}", "/projects/{p}/records", "/projects/{p}/review/queue"])
def test_non_member_gets_404_for_project_routes(service: Service, path: str) -> None:
    r = service.client.get(path.format(p=service.project_id), headers=service.outsider)
    assert r.status_code == 404


def test_non_member_gets_404_for_record_and_result(service: Service) -> None:
    (record_id,) = service.submit(NOTE)
    service.run([record_id])
    result_id = service.client.get(f"/records/{record_id}/results", headers=service.reader).json()[0]["id"]
    assert service.client.get(f"/records/{record_id}", headers=service.outsider).status_code == 404
    assert service.client.get(f"/results/{result_id}", headers=service.outsider).status_code == 404
    assert service.client.get(f"/review/items/{result_id}", headers=service.outsider).status_code == 404


def test_non_member_sees_no_projects(service: Service) -> None:
    assert service.client.get("/projects", headers=service.outsider).json() == []


def _login(service: Service, username: str = "admin", password: str = "admin-password-123") -> str:
    r = service.client.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    csrf: str = r.json()["csrf_token"]
    return csrf


def test_login_sets_a_session_cookie(service: Service) -> None:
    _login(service)
    assert service.client.get("/auth/me").json()["username"] == "admin"


def test_wrong_password_is_401(service: Service) -> None:
    r = service.client.post("/auth/login", json={"username": "admin", "password": "wrong-password"})
    assert r.status_code == 401


def test_cookie_session_needs_csrf_token_for_unsafe_methods(service: Service) -> None:
    csrf = _login(service)
    assert service.client.post("/projects", json={"name": "c1"}).status_code == 403
    assert service.client.post("/projects", json={"name": "c1"}, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_idle_session_is_logged_out(make_service: Callable[..., Service]) -> None:
    service = make_service(session_idle_minutes=1)
    _login(service)
    ctx = service.app.state.ctx
    cookie = service.client.cookies.get("medlens_session")
    assert cookie is not None
    # Re-sign the same session as if it had been issued two minutes ago.
    import time as _time
    from unittest import mock

    data = ctx.serializer.loads(cookie)
    with mock.patch("time.time", return_value=_time.time() - 120):
        old = ctx.serializer.dumps(data)
    service.client.cookies.clear()
    service.client.cookies.set("medlens_session", old)
    assert service.client.get("/auth/me").status_code == 401


def test_rate_limit_answers_429_with_retry_after(service: Service) -> None:
    from medlens.server.deps import RateLimiter

    service.app.state.ctx.limiter = RateLimiter(per_minute=1, burst=3)
    statuses = [service.client.get("/auth/me", headers=service.reader).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    last = service.client.get("/auth/me", headers=service.reader)
    assert last.status_code == 429
    assert int(last.headers["Retry-After"]) >= 1
