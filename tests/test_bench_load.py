"""The load test's pure parts: naming and counting requests, reading pages, the member addresses, the dataset."""

import os

import pytest

from bench.__main__ import results_path
from bench.load import dataset, ledger, pages, results


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


def test_saves_are_numbered_as_quiz_js_numbers_them():
    started, now = pages.attempt_clock('<div id="attempt" data-started-at="2026-11-30T05:00:00.000Z" '
                                       'data-deadline="" data-server-now="2026-11-30T05:00:02.345Z" data-seq="0">')
    assert now - started == pytest.approx(2.345)
    assert pages.next_seq(0, started, now) == 23  # tenths of a second since the start
    assert pages.next_seq(40, started, now) == 41  # never below the last one sent
    assert pages.next_seq(0, None, now) == 1
    assert pages.iso_seconds("2026-11-30T05:00:00Z") == pages.iso_seconds("2026-11-30T05:00:00.000Z")
    view = {"questions": [{"position": 2, "options": [{"id": "0"}, {"id": "1"}]}, {"position": 1, "options": []}]}
    assert pages.api_questions(view) == {2: 2, 1: 0}


def _stored(id, number, answers, username="dv00001", state="finished", last_seq=21, prediction=1234, score=7.0):
    return ledger.Stored(id, username, number, state, score, 20.0, last_seq, prediction, answers)


def _acknowledged(id, answers, seq=21, submitted=True, prediction="1234"):
    return {"id": id, "start": "api", "saves": 21, "seq": seq, "answers": answers, "prediction": prediction,
            "submitted": submitted}


def test_stored_answers_read_as_the_tokens_the_member_sent():
    assert ledger.tokens("12,9,10,11", "9") == ["1"]
    assert ledger.tokens("12,9,10,11", "11,12") == ["0", "3"]
    assert ledger.tokens("12,9,10,11", "") == []


def test_the_database_check_passes_what_was_acknowledged():
    member = {"username": "dv00001", "attempts": [_acknowledged(5, {"1": ["2"], "2": []}),
                                                  _acknowledged(9, {"1": ["0"], "2": ["3"]})]}
    stored = {5: _stored(5, 1, {1: ["2"], 2: []}), 9: _stored(9, 2, {1: ["0"], 2: ["3"]})}
    verdict = ledger.verify([member], stored)
    assert verdict["problems"] == [] and verdict["notes"] == []
    assert (verdict["starts"], verdict["saves"], verdict["submits"], verdict["attempts_checked"]) == (2, 42, 2, 2)


@pytest.mark.parametrize("change, found", [
    (lambda s: s.pop(9), "missing from the database"),
    (lambda s: s.update({11: _stored(11, 3, {})}), "that no start acknowledged"),
    (lambda s: setattr(s[9], "number", 1), "attempt numbers [1, 1]"),
    (lambda s: setattr(s[9], "answers", {1: ["1"], 2: ["3"]}), "differ from save 21 at questions [1]"),
    (lambda s: setattr(s[9], "state", "in_progress"), "submit acknowledged, stored in_progress"),
    (lambda s: setattr(s[9], "score", None), "submit acknowledged, stored finished with score None"),
    (lambda s: setattr(s[9], "last_seq", 20), "save 21 acknowledged, stored last_seq 20"),
    (lambda s: setattr(s[9], "prediction", None), "stored prediction None"),
])
def test_the_database_check_finds_lost_duplicated_and_changed_attempts(change, found):
    member = {"username": "dv00001", "attempts": [_acknowledged(5, {"1": ["2"]}), _acknowledged(9, {"1": ["0"],
                                                                                                  "2": ["3"]})]}
    stored = {5: _stored(5, 1, {1: ["2"]}), 9: _stored(9, 2, {1: ["0"], 2: ["3"]})}
    change(stored)
    problems = ledger.verify([member], stored)["problems"]
    assert len(problems) == 1 and found in problems[0], problems


def test_a_start_acknowledged_twice_and_a_save_applied_unanswered_are_told_apart():
    member = {"username": "dv00001", "attempts": [_acknowledged(5, {"1": ["2"]}), _acknowledged(5, {"1": ["2"]})]}
    problems = ledger.verify([member], {5: _stored(5, 1, {1: ["2"]})})["problems"]
    assert any("acknowledged by two starts" in p for p in problems)
    member = {"username": "dv00001", "attempts": [_acknowledged(5, {"1": ["2"]}, submitted=False)]}
    verdict = ledger.verify([member], {5: _stored(5, 1, {1: ["1"]}, last_seq=30)})
    assert verdict["problems"] == [] and len(verdict["notes"]) == 2  # finished and saved later, unacknowledged


def test_two_runs_compare_by_member_and_attempt_number():
    first = {1: _stored(1, 1, {1: ["2"]}), 2: _stored(2, 2, {1: ["0"]})}
    same = {7: _stored(7, 1, {1: ["2"]}), 8: _stored(8, 2, {1: ["0"]})}
    assert ledger.compare(first, same) == []
    assert ledger.compare(first, {7: _stored(7, 1, {1: ["3"]}), 8: _stored(8, 2, {1: ["0"]})}) == [
        "dv00001 no. 1: stored answers or prediction differ"]
    assert ledger.compare(first, {7: _stored(7, 1, {1: ["2"]})}) == ["finished attempts: 2 and 1",
                                                                     "dv00001 no. 2: finished in one run only"]


def test_the_database_check_reads_what_the_api_stored(tmp_path, monkeypatch):
    from portal import create_app

    monkeypatch.setattr(dataset, "N_MEMBERS", 20)
    data = dataset.make_instance(str(tmp_path / "instance"), log=lambda *a: None)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", data.instance_path)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    username = data.username.format(3)
    assert client.post("/login", data={"username": username, "password": data.password}).status_code == 302
    view = client.post(f"/api/v1/quizzes/{data.quiz_id}/attempts").get_json()
    answers = {str(p): [str(p % n)] for p, n in pages.api_questions(view).items()}
    for seq in (5, 9):
        saved = client.put(f"/api/v1/attempts/{view['id']}/answers", json={"seq": seq, "answers": answers,
                                                                          "prediction": "2500"})
        assert saved.get_json()["applied"]
    assert client.post(f"/api/v1/attempts/{view['id']}/submit", json={"prediction": "2500"}).status_code == 200
    member = {"username": username, "attempts": [_acknowledged(view["id"], answers, seq=9, prediction="2500")]}

    stored = ledger.read_attempts(os.path.join(data.instance_path, "portal.db"), data.quiz_id, [username])
    assert [(a.number, a.state, a.last_seq, a.prediction) for a in stored.values()] == [(1, "finished", 9, 2500)]
    assert ledger.verify([member], stored)["problems"] == []
    answers["1"] = ["3"] if answers["1"] != ["3"] else ["2"]  # what the member believes differs from the row
    assert ledger.verify([member], stored)["problems"] == [f"{username} attempt {view['id']} (no. 1): stored "
                                                           "answers differ from save 9 at questions [1]"]
