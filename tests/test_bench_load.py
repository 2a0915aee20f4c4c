"""The load test's pure parts: naming and counting requests, reading pages, the member addresses, the dataset."""

import os

import pytest

from bench.__main__ import results_path
from bench.load import dataset, pages, results


@pytest.mark.parametrize("method, name, expected", [
    ("PUT", "/api/v1/attempts/812/answers", "PUT /api/v1/attempts/[id]/answers"),
    ("GET", "http://127.0.0.1:5123/quiz/attempts/7/result?x=1", "GET /quiz/attempts/[id]/result"),
    ("POST", "/quiz/[id]/start", "POST /quiz/[id]/start"),
    ("GET", "/quiz/[id] (round page)", "GET /quiz/[id] (round page)"),
    ("GET", "http://127.0.0.1:5123", "GET /"),
])
def test_requests_are_grouped_by_endpoint(method, name, expected):
    assert results.endpoint(method, name) == expected


def test_every_request_is_counted_with_its_outcome():
    clock = iter([0.0, 10.0])
    collector = results.Collector(clock=lambda: next(clock))
    collector.on_request("GET", "/login", 5.0)  # before start: not counted
    collector.start()
    for ms in (10.0, 20.0, 30.0):
        collector.on_request("PUT", "/api/v1/attempts/3/answers", ms)
    collector.on_request("PUT", "/api/v1/attempts/4/answers", 900.0, exception=Exception("409 Time is up"))
    collector.on_request("POST", "/api/v1/attempts/4/submit", 40.0, exception=Exception("409 Time is up"))
    collector.stop()
    collector.on_request("GET", "/login", 5.0)  # after stop: not counted
    phase = collector.phase("t")

    rows = {row[0]: row for row in results.endpoint_rows(phase)}
    assert set(rows) == {"PUT /api/v1/attempts/[id]/answers", "POST /api/v1/attempts/[id]/submit"}
    key, n, failed, rate, p50, p95, p99, top = rows["PUT /api/v1/attempts/[id]/answers"]
    assert (n, failed, rate, top) == (4, 1, 0.4, 900.0)
    assert p50 == 25.0
    assert results.totals(phase, results.SAVE_AND_SUBMIT)[:3] == (5, 2, 0.5)
    assert results.error_lines(phase) == ["  POST /api/v1/attempts/[id]/submit: 1 × 409 Time is up",
                                          "  PUT /api/v1/attempts/[id]/answers: 1 × 409 Time is up"]
    text = results.format_phase(phase)
    assert "errors: 2:" in text and "all requests" in text


def test_table_rows_follow_the_members_flow_and_name_failures():
    phase = {"elapsed": 2.0, "errors": {}, "requests": {
        "POST /api/v1/attempts/[id]/submit": {"times": [10.0, 30.0], "failures": 1},
        "GET /login": {"times": [1.0], "failures": 0},
        "PUT /api/v1/attempts/[id]/answers": {"times": [5.0], "failures": 0}}}
    rows = results.table_rows("contest-day", phase, results.SAVE_AND_SUBMIT)
    assert [r[0] for r in rows] == ["contest-day: PUT /api/v1/attempts/[id]/answers",
                                    "contest-day: POST /api/v1/attempts/[id]/submit [1 failed]"]
    assert rows[1][1:3] == (2, 1.0)


def test_percentiles_of_few_samples():
    assert results.percentiles([]) == (0.0, 0.0, 0.0)
    assert results.percentiles([7.0]) == (7.0, 7.0, 7.0)
    p50, p95, p99 = results.percentiles([float(i) for i in range(1, 101)])
    assert (p50, round(p95, 2), round(p99, 2)) == (50.5, 95.05, 99.01)


def test_pages_give_tokens_attempt_and_questions():
    form = '<form method="post"><input id="csrf_token" name="csrf_token" type="hidden" value="abc.def"></form>'
    assert pages.form_token(form) == "abc.def"
    assert pages.form_token("<p>no form</p>") is None
    page = ('<meta name="csrf-token" content="tok-1">'
            '<input type="radio" name="q1" value="0"><input type="radio" name="q1" value="1">'
            '<input type="radio" name="q2" value="0"><input type="radio" name="q2" value="1">'
            '<input type="radio" name="q2" value="2">')
    assert pages.meta_token(page) == "tok-1"
    assert pages.questions(page) == {1: 2, 2: 3}
    assert pages.attempt_id("/quiz/attempts/42") == 42
    assert pages.attempt_id("/quiz/3") is None
    assert pages.message('{"error": "Hết giờ làm bài"}') == "Hết giờ làm bài"
    assert pages.message("<html><title>Quá nhiều yêu cầu</title></html>") == "Quá nhiều yêu cầu"


def test_results_files_are_dated_with_the_core_count(tmp_path, monkeypatch):
    import datetime as dt

    import bench.__main__ as main

    monkeypatch.setattr(main, "RESULTS", str(tmp_path))
    first = results_path(dt.date(2026, 11, 30), 2)
    assert os.path.basename(first) == "2026-11-30-2cores.txt"
    open(first, "w").close()
    assert os.path.basename(results_path(dt.date(2026, 11, 30), 2)) == "2026-11-30-2cores-2.txt"


def test_each_member_has_an_address_of_its_own_on_loopback():
    addresses = [pages.member_address(i) for i in range(0, 40_000, 7)]
    assert len(set(addresses)) == len(addresses)
    for address in addresses:
        parts = [int(p) for p in address.split(".")]
        assert parts[0] == 127 and all(1 <= p <= 254 for p in parts[1:])


def test_dataset_members_log_in_and_the_round_is_open(tmp_path, monkeypatch):
    from portal import create_app

    monkeypatch.setattr(dataset, "N_MEMBERS", 60)
    data = dataset.make_instance(str(tmp_path / "instance"), log=lambda *a: None)
    assert os.path.exists(tmp_path / "instance" / "load.json")
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", data.instance_path)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    response = client.post("/login", data={"username": data.username.format(59), "password": data.password})
    assert response.status_code == 302
    page = client.get(f"/contests/{data.contest_id}").get_data(as_text=True)
    assert f"/quiz/{data.quiz_id}" in page
    started = client.post(f"/quiz/{data.quiz_id}/start")
    attempt = pages.attempt_id(started.headers["Location"])
    assert attempt
    html = client.get(f"/quiz/attempts/{attempt}").get_data(as_text=True)
    assert len(pages.questions(html)) == dataset.N_QUESTIONS
