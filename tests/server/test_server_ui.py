"""Review UI routes (Jinja2 + htmx) with TestClient, on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from server_support import NOTE, SENTINEL, Service

PASSWORD = "a-long-password-1"
SCRIPT = "<script>alert('x')</script>"
HTMX = {"HX-Request": "true"}


class Browser:
    """A TestClient with a web session, and the page's CSRF token."""

    def __init__(self, service: Service, username: str) -> None:
        self.client = TestClient(service.app)
        page = self.client.get("/ui/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
        assert token is not None
        r = self.client.post(
            "/ui/login",
            data={"username": username, "password": PASSWORD, "login_csrf": token.group(1)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        home = self.client.get("/ui/")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
        assert csrf is not None
        self.csrf = csrf.group(1)

    def get(self, url: str) -> Any:
        return self.client.get(url, follow_redirects=False)

    def post(self, url: str, data: dict[str, str], *, csrf: bool = True) -> Any:
        headers = {**HTMX, **({"X-CSRF-Token": self.csrf} if csrf else {})}
        return self.client.post(url, data=data, headers=headers, follow_redirects=False)

    def patch(self, url: str, data: dict[str, str]) -> Any:
        return self.client.patch(url, data=data, headers={**HTMX, "X-CSRF-Token": self.csrf})


def _results(service: Service, *texts: str, **kwargs: Any) -> list[dict[str, Any]]:
    records = service.submit(*texts, **kwargs)
    service.run(records)
    out = []
    for record_id in records:
        out.extend(service.client.get(f"/records/{record_id}/results", headers=service.reader).json())
    return out


def _rows(db_url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(sql)).all())
    engine.dispose()
    return rows


@pytest.fixture
def reviewer(service: Service) -> Browser:
    return Browser(service, "reviewer1")


@pytest.mark.parametrize("path", ["/ui/", "/ui/projects/x/queue", "/ui/review/x", "/ui/projects/x/agreement"])
def test_pages_without_session_redirect_to_login(service: Service, path: str) -> None:
    r = TestClient(service.app).get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login"


def test_htmx_request_without_session_gets_hx_redirect(service: Service) -> None:
    r = TestClient(service.app).post("/ui/review/x/decision", headers=HTMX, follow_redirects=False)
    assert r.headers["hx-redirect"] == "/ui/login"


def test_api_token_does_not_open_ui_pages(service: Service) -> None:
    r = TestClient(service.app).get("/ui/", headers=service.reviewer, follow_redirects=False)
    assert r.status_code == 303


def test_login_with_wrong_password_is_401(service: Service) -> None:
    client = TestClient(service.app)
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/ui/login").text)
    assert token is not None
    r = client.post("/ui/login", data={"username": "reviewer1", "password": "nope", "login_csrf": token.group(1)})
    assert r.status_code == 401
    assert "medlens_session" not in r.cookies


def test_login_without_the_form_token_is_403(service: Service) -> None:
    client = TestClient(service.app)
    client.get("/ui/login")
    r = client.post("/ui/login", data={"username": "reviewer1", "password": PASSWORD, "login_csrf": "forged"})
    assert r.status_code == 403


def test_pages_carry_csrf_meta_and_security_headers(service: Service, reviewer: Browser) -> None:
    r = reviewer.get("/ui/")
    assert f'<meta name="csrf-token" content="{reviewer.csrf}">' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


def test_home_shows_progress_per_project(service: Service, reviewer: Browser) -> None:
    _results(service, NOTE)
    r = reviewer.get("/ui/")
    assert r.status_code == 200
    assert "0/1" in r.text
    assert f"/ui/projects/{service.project_id}/queue" in r.text


def test_queue_lists_results_needing_review(service: Service, reviewer: Browser) -> None:
    results = _results(service, NOTE, NOTE)
    r = reviewer.get(f"/ui/projects/{service.project_id}/queue")
    assert r.status_code == 200
    assert set(re.findall(r'data-result="([0-9a-f]{32})"', r.text)) == {x["id"] for x in results}
    assert "0/2 reviewed" in r.text


def test_outsider_gets_404_for_a_project_page(service: Service) -> None:
    outsider = Browser(service, "outsider1")
    assert outsider.get(f"/ui/projects/{service.project_id}/queue").status_code == 404


def test_outsider_gets_404_for_a_result_page(service: Service) -> None:
    (result,) = _results(service, NOTE)
    outsider = Browser(service, "outsider1")
    assert outsider.get(f"/ui/review/{result['id']}").status_code == 404


def test_document_view_highlights_evidence(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    page = reviewer.get(f"/ui/review/{result['id']}").text
    for finding in result["payload"]["findings"]:
        ev = finding["evidence"][0]
        quote = re.escape(NOTE[ev["start"] : ev["end"]])
        assert re.search(rf'<mark [^>]*data-start="{ev["start"]}" data-end="{ev["end"]}"[^>]*>{quote}</mark>', page)


@pytest.mark.parametrize(
    ("text", "badge"), [("Denies fever.\n", "negated"), ("History of hypertension.\n", "historical")]
)
def test_document_view_shows_assertion_badges(service: Service, reviewer: Browser, text: str, badge: str) -> None:
    (result,) = _results(service, text)
    page = reviewer.get(f"/ui/review/{result['id']}").text
    assert f'<span class="badge a-{badge}">{badge}</span>' in page


def test_script_in_record_text_is_escaped(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE + SCRIPT)
    page = reviewer.get(f"/ui/review/{result['id']}").text
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_decision_without_csrf_token_is_403(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    r = reviewer.post(
        f"/ui/review/{result['id']}/decision", {"decision": "accept", "reason_code": "correct"}, csrf=False
    )
    assert r.status_code == 403
    assert service.client.get(f"/results/{result['id']}", headers=service.reader).json()["status"] == "needs_review"


def test_decision_with_another_sessions_csrf_token_is_403(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    other = Browser(service, "reviewer1")
    reviewer.csrf = other.csrf
    r = reviewer.post(f"/ui/review/{result['id']}/decision", {"decision": "accept", "reason_code": "correct"})
    assert r.status_code == 403


def test_accept_moves_the_result_and_goes_to_the_next_item(service: Service, reviewer: Browser) -> None:
    _results(service, NOTE, NOTE)
    page = reviewer.get(f"/ui/projects/{service.project_id}/queue").text
    order = re.findall(r'data-result="([0-9a-f]{32})"', page)
    r = reviewer.post(f"/ui/review/{order[0]}/decision", {"decision": "accept", "reason_code": "correct"})
    assert r.status_code == 200
    assert r.headers["hx-redirect"] == f"/ui/review/{order[1]}"
    rows = _rows(service.db_url, f"SELECT status FROM results WHERE id = '{order[0]}'")
    assert rows[0][0] == "accepted"


def test_last_decision_goes_back_to_the_queue(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    r = reviewer.post(f"/ui/review/{result['id']}/decision", {"decision": "reject", "reason_code": "wrong_concept"})
    assert r.headers["hx-redirect"] == f"/ui/projects/{service.project_id}/queue"
    rows = _rows(service.db_url, "SELECT decision, reason_code FROM review_decisions")
    assert [tuple(x) for x in rows] == [("reject", "wrong_concept")]


def test_reject_needs_a_reject_reason_code(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    r = reviewer.post(f"/ui/review/{result['id']}/decision", {"decision": "reject", "reason_code": "correct"})
    assert r.status_code == 422


def test_reader_cannot_decide(service: Service) -> None:
    (result,) = _results(service, NOTE)
    reader = Browser(service, "reader1")
    r = reader.post(f"/ui/review/{result['id']}/decision", {"decision": "accept", "reason_code": "correct"})
    assert r.status_code == 403


def test_edit_moves_evidence_and_rereads_the_quote(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    ev = result["payload"]["findings"][0]["evidence"][0]
    form = {"decision": "edit", "reason_code": "wrong_span", "findings-0.ev0.end": str(ev["end"] - 1)}
    r = reviewer.post(f"/ui/review/{result['id']}/decision", form)
    assert r.status_code == 200, r.text
    item = service.client.get(f"/review/items/{result['id']}", headers=service.reader).json()
    assert item["result"]["status"] == "edited"
    (payload,) = _rows(service.db_url, "SELECT edited_payload FROM review_decisions")[0]
    payload = payload if isinstance(payload, dict) else json.loads(payload)
    edited = payload["findings"][0]["evidence"][0]
    assert (edited["start"], edited["end"]) == (ev["start"], ev["end"] - 1)
    assert edited["quote"] == NOTE[ev["start"] : ev["end"] - 1]


def test_edit_can_remove_a_claim(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    n = len(result["payload"]["findings"])
    form = {"decision": "edit", "reason_code": "other", "findings-0.drop": "1"}
    assert reviewer.post(f"/ui/review/{result['id']}/decision", form).status_code == 200
    (payload,) = _rows(service.db_url, "SELECT edited_payload FROM review_decisions")[0]
    payload = payload if isinstance(payload, dict) else json.loads(payload)
    assert len(payload["findings"]) == n - 1


def test_edit_with_offsets_outside_the_text_is_422_ml402(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    form = {"decision": "edit", "reason_code": "wrong_span", "findings-0.ev0.end": str(len(NOTE) + 50)}
    r = reviewer.post(f"/ui/review/{result['id']}/decision", form)
    assert r.status_code == 422
    assert "ML402" in r.text
    assert SENTINEL not in r.text


def test_draft_is_autosaved_restored_and_removed_on_save(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    ev = result["payload"]["findings"][0]["evidence"][0]
    end = str(ev["end"] - 2)
    r = reviewer.patch(f"/ui/review/{result['id']}/draft", {"reason_code": "wrong_span", "findings-0.ev0.end": end})
    assert r.status_code == 200
    assert "Draft saved" in r.text
    page = reviewer.get(f"/ui/review/{result['id']}").text
    assert f'name="findings-0.ev0.end" value="{end}"' in page
    form = {"decision": "edit", "reason_code": "wrong_span", "findings-0.ev0.end": end}
    assert reviewer.post(f"/ui/review/{result['id']}/decision", form).status_code == 200
    assert _rows(service.db_url, "SELECT count(*) FROM review_drafts")[0][0] == 0


def test_draft_keeps_only_edit_form_fields(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    reviewer.patch(f"/ui/review/{result['id']}/draft", {"findings-0.text": "x", "evil": "y", "decision": "accept"})
    (fields,) = _rows(service.db_url, "SELECT fields FROM review_drafts")[0]
    fields = fields if isinstance(fields, dict) else json.loads(fields)
    assert fields == {"findings-0.text": "x"}


def test_ui_accept_makes_the_fhir_export_clinician_asserted(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    reviewer.post(f"/ui/review/{result['id']}/decision", {"decision": "accept", "reason_code": "correct"})
    bundle = service.client.get(f"/projects/{service.project_id}/export/fhir", headers=service.reviewer).json()
    codes = {s["code"] for e in bundle["entry"] for s in e["resource"].get("meta", {}).get("security", [])}
    assert "CLINAST_AIRPT" in codes
    assert "AIAST" not in codes


def test_patient_timeline_orders_records_by_document_date(service: Service, reviewer: Browser) -> None:
    docs = [
        {"id": "late", "text": NOTE, "patient_id": "p-9", "date": "2024-05-01"},
        {"id": "early", "text": NOTE, "patient_id": "p-9", "date": "2023-01-15"},
    ]
    r = service.client.post(
        f"/projects/{service.project_id}/records", json={"documents": docs}, headers=service.reviewer
    )
    service.run([x["id"] for x in r.json()["records"]])
    key = service.client.post(
        f"/projects/{service.project_id}/patient-key", json={"patient_id": "p-9"}, headers=service.reader
    ).json()["patient_key"]
    assert key in reviewer.get(f"/ui/projects/{service.project_id}/patients").text
    page = reviewer.get(f"/ui/projects/{service.project_id}/patients/{key}").text
    assert page.index("2023-01-15") < page.index("2024-05-01")
    assert "p-9" not in page


def test_unknown_patient_is_404(service: Service, reviewer: Browser) -> None:
    assert reviewer.get(f"/ui/projects/{service.project_id}/patients/{'0' * 32}").status_code == 404


def test_ui_routes_are_not_in_the_openapi_schema(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def test_static_htmx_is_served(service: Service) -> None:
    r = TestClient(service.app).get("/ui/static/htmx.min.js")
    assert r.status_code == 200
    assert "0BSD" in r.text[:300]


# --- blinded double review -------------------------------------------------------------------------------------------


@pytest.fixture
def sampled(make_service: Callable[..., Service]) -> Service:
    return make_service(review_sample_rate=1.0)


def _second_reviewer(service: Service) -> Browser:
    r = service.client.post(
        "/users", json={"username": "second", "role": "reviewer", "password": PASSWORD}, headers=service.admin
    )
    service.client.put(
        f"/projects/{service.project_id}/members", json={"user_id": r.json()["id"]}, headers=service.admin
    )
    return Browser(service, "second")


def test_blind_page_hides_status_and_other_votes(sampled: Service) -> None:
    (result,) = _results(sampled, NOTE)
    first, second = Browser(sampled, "reviewer1"), _second_reviewer(sampled)
    r = first.post(f"/ui/agreement/{result['id']}/vote", {"decision": "reject", "reason_code": "wrong_concept"})
    assert r.status_code == 200
    page = second.get(f"/ui/agreement/{result['id']}").text
    assert "wrong_concept" not in page.split('id="reject-dialog"')[0]
    assert "wrong concept" not in page.split('id="reject-dialog"')[0]
    assert "Status:" not in page


def test_votes_do_not_change_the_review_status(sampled: Service) -> None:
    (result,) = _results(sampled, NOTE)
    Browser(sampled, "reviewer1").post(
        f"/ui/agreement/{result['id']}/vote", {"decision": "accept", "reason_code": "correct"}
    )
    assert sampled.client.get(f"/results/{result['id']}", headers=sampled.reader).json()["status"] == "needs_review"


def test_second_vote_by_the_same_reviewer_is_409(sampled: Service) -> None:
    (result,) = _results(sampled, NOTE)
    browser = Browser(sampled, "reviewer1")
    vote = {"decision": "accept", "reason_code": "correct"}
    assert browser.post(f"/ui/agreement/{result['id']}/vote", vote).status_code == 200
    assert browser.post(f"/ui/agreement/{result['id']}/vote", vote).status_code == 409


def test_result_outside_the_sample_cannot_be_voted_on(service: Service, reviewer: Browser) -> None:
    (result,) = _results(service, NOTE)
    r = reviewer.post(f"/ui/agreement/{result['id']}/vote", {"decision": "accept", "reason_code": "correct"})
    assert r.status_code == 404


def test_agreement_page_shows_kappa_once_both_have_voted(sampled: Service) -> None:
    results = _results(sampled, NOTE, NOTE, NOTE, NOTE)
    first, second = Browser(sampled, "reviewer1"), _second_reviewer(sampled)
    # Hand-computed: A = accept, accept, reject, reject; B = accept, reject, reject, reject.
    # p_o = 3/4; p_e = (2/4)(1/4) + (2/4)(3/4) = 1/2; kappa = (0.75 - 0.5) / 0.5 = 0.5.
    for result, (a, b) in zip(results, ["aa", "ar", "rr", "rr"], strict=True):
        for browser, vote in ((first, a), (second, b)):
            body = (
                {"decision": "accept", "reason_code": "correct"}
                if vote == "a"
                else {
                    "decision": "reject",
                    "reason_code": "other",
                }
            )
            assert browser.post(f"/ui/agreement/{result['id']}/vote", body).status_code == 200
    page = second.get(f"/ui/projects/{sampled.project_id}/agreement").text
    row = re.search(r'<tr data-task="notes.extract">(.*?)</tr>', page, re.S)
    assert row is not None
    assert '<td class="kappa">0.500</td>' in row.group(1)


def test_agreement_figures_hidden_until_you_have_voted(sampled: Service) -> None:
    _results(sampled, NOTE)
    page = Browser(sampled, "reviewer1").get(f"/ui/projects/{sampled.project_id}/agreement").text
    assert 'id="kappa"' not in page
