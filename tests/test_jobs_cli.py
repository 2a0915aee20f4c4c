"""`portal render-certificates`, `portal worker`, and the worker `portal serve` runs beside gunicorn."""

import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from portal import create_app, jobs
from portal import db as dbmod
from portal.certificates import render
from portal.certificates.models import Certificate
from portal.jobs import Job
from tests.contests.conftest import committee, make_contest, make_round  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
PORTAL = [sys.executable, "-m", "portal.cli"]  # as `portal serve` starts its worker
_codes = itertools.count(1)


def _certificate(owner_unit, source, name, status="valid", kind="merit"):
    code = f"C{next(_codes):09d}"
    data = render.sample_data({"recipient_name": name, "code": code, "kind": kind})
    return Certificate.create(code=code, kind=kind, owner_unit=owner_unit, source=source, recipient_name=name,
                              data=json.dumps(data), status=status)


@pytest.fixture
def contest_certificates(committee, make_contest, make_round):  # noqa: F811
    """Contest with two rounds: round 1 has two valid certificates and a revoked one, round 2 one, the contest one;
    another contest (whose id starts with the same digits) has its own."""
    contest = make_contest()
    first, second = make_round(contest), make_round(contest)
    prefix = f"contest:{contest.id}"
    made = {
        "first": [_certificate(committee, f"{prefix}/round:{first.id}/award:1", "Nguyễn Thị Ngọc Hưởng"),
                  _certificate(committee, f"{prefix}/round:{first.id}/entry:7", "Đặng Quỳnh Ỷ", kind="participation")],
        "revoked": [_certificate(committee, f"{prefix}/round:{first.id}/award:2", "Trần Văn Thu Hồi",
                                 status="revoked")],
        "second": [_certificate(committee, f"{prefix}/round:{second.id}/award:3", "Lê Thị Thu Hằng")],
        "contest": [_certificate(committee, f"{prefix}/award:4", "Phạm Minh Toàn")],
        "other": [_certificate(committee, f"contest:{contest.id}0/award:5", "Người Cuộc Thi Khác")],
    }
    return contest, first, second, made


def _pages(path):
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _text(path):
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_round_into_one_pdf_with_a_progress_bar(runner, contest_certificates, tmp_path):
    contest, first, second, made = contest_certificates
    out = tmp_path / "vong-1.pdf"
    result = runner.invoke(args=["render-certificates", "--round", str(first.id), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Đang tạo giấy" in result.output  # the bar's label (the bar itself draws on a terminal)
    assert result.output.rstrip().endswith(
        f"Đã ghi 1 giấy khen và 1 giấy chứng nhận của vòng 1 của hội thi «{contest.title}» vào tệp PDF {out}.")
    assert _pages(out) == 2
    text = _text(out)
    assert text.index("Nguyễn Thị Ngọc Hưởng") < text.index("Đặng Quỳnh Ỷ")
    assert "Trần Văn Thu Hồi" not in text and "Lê Thị Thu Hằng" not in text
    assert not (tmp_path / "vong-1.pdf.part").exists()


def test_all_statuses_adds_the_revoked_ones(runner, contest_certificates, tmp_path):
    contest, first, second, made = contest_certificates
    out = tmp_path / "tat-ca.pdf"
    result = runner.invoke(args=["render-certificates", "--round", str(first.id), "--all-statuses", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _pages(out) == 3 and "Trần Văn Thu Hồi" in _text(out)


def test_a_contest_into_a_zip_takes_every_round_and_no_other_contest(runner, contest_certificates, tmp_path):
    contest, first, second, made = contest_certificates
    out = tmp_path / "hoi-thi.zip"
    result = runner.invoke(args=["render-certificates", "--contest", str(contest.id), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Đã ghi 3 giấy khen và 1 giấy chứng nhận của hội thi «{contest.title}» vào tệp ZIP {out}." in result.output
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert len(names) == 4 and all(n.isascii() for n in names)
    assert "Pham-Minh-Toan" in names[3] and not any("Nguoi-Cuoc-Thi-Khac" in n for n in names)


def test_a_folder_of_single_pdfs(runner, contest_certificates, tmp_path):
    contest, first, second, made = contest_certificates
    folder = tmp_path / "giay-khen"
    result = runner.invoke(args=["render-certificates", "--round", str(first.id), "-o", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"vào thư mục {folder}." in result.output
    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".pdf", ".pdf"] and "Nguyen-Thi-Ngoc-Huong" in files[0].name
    assert [_pages(f) for f in files] == [1, 1]
    assert "Đặng Quỳnh Ỷ" in _text(files[1])


def test_nothing_to_render_says_so_and_writes_nothing(runner, make_round, tmp_path):  # noqa: F811
    round_ = make_round()
    out = tmp_path / "trong.pdf"
    result = runner.invoke(args=["render-certificates", "--round", str(round_.id), "-o", str(out)])
    assert result.exit_code == 1
    assert (f"Vòng 1 của hội thi «{round_.contest.title}» chưa có giấy khen hay giấy chứng nhận nào còn hiệu lực: "
            f"không có gì để in. Hãy cấp giấy trước (portal issue-certificates --round {round_.id}).") in result.output
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    ([], "Hãy chọn đúng một trong hai: --round ID"),
    (["--round", "1", "--contest", "1"], "Hãy chọn đúng một trong hai"),
    (["--round", "x"], "Mã vòng thi phải là một số nguyên dương, không phải 'x'."),
    (["--round", "99999"], "Không có vòng thi mã 99999."),
    (["--contest", "99999"], "Không có hội thi mã 99999."),
])
def test_bad_options_fail_with_a_message(runner, tmp_path, args, message):
    result = runner.invoke(args=["render-certificates", *args, "-o", str(tmp_path / "out.pdf")])
    assert result.exit_code == 1 and message in result.output


def test_a_missing_folder_fails_clearly(runner, contest_certificates, tmp_path):
    contest, first, second, made = contest_certificates
    result = runner.invoke(args=["render-certificates", "--round", str(first.id),
                                 "-o", str(tmp_path / "khong-co" / "out.pdf")])
    assert result.exit_code == 1 and f"Không có thư mục {tmp_path / 'khong-co'}." in result.output


def test_worker_refuses_to_run_when_jobs_run_inline(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 1 and "không cần tiến trình này" in result.output


# -- real processes: `portal worker` and `portal serve` build their app with create_app() -----------------------

@pytest.fixture
def deployment(tmp_path, monkeypatch):
    """A deployment on SQLite with the default queue (instance/jobs.db); ``queue(n)`` queues a job of n pages."""
    instance = tmp_path / "instance"
    key = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_INSTANCE_PATH=str(instance), PORTAL_SECRET_KEY=key, PORTAL_JOBS_RENDER_PROCESSES="1")
    for name in [k for k in os.environ if k.startswith("PORTAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    app = create_app({"SECRET_KEY": key})  # as the server and the worker build it
    assert not jobs.huey.immediate
    db = app.extensions["portal_db"]
    dbmod.migrate(db)

    def queue(pages):
        from portal.accounts.units import create_unit

        with app.app_context(), dbmod.database.connection_context():
            unit = create_unit(None, f"U{next(_codes)}", "Đảng bộ huyện Hiệp Đức", "committee")
            ids = [_certificate(unit, "manual:x", f"Người nhận số {i}").id for i in range(pages)]
            return jobs.start_certificates(None, unit, ids, "pdf", "Giấy khen").id

    def job(job_id):
        with app.app_context(), dbmod.database.connection_context():
            return Job.get_by_id(job_id)

    def wait(job_id, states, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = job(job_id)
            if current.state in states:
                return current
            time.sleep(0.05)
        pytest.fail(f"job {job_id} still {current.state}")

    yield type("Deployment", (), {"env": env, "queue": staticmethod(queue), "wait": staticmethod(wait),
                                  "log": tmp_path / "out.log"})
    jobs.huey.storage.close()


def _stop(process, log):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


def test_the_worker_process_does_queued_jobs(deployment):
    job_id = deployment.queue(3)
    assert deployment.wait(job_id, ("queued",)).state == "queued"  # nobody takes it yet
    log = open(deployment.log, "wb")
    worker = subprocess.Popen([*PORTAL, "worker"], cwd=ROOT, env=deployment.env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        job = deployment.wait(job_id, ("done", "failed"))
    finally:
        _stop(worker, log)
    output = deployment.log.read_text()
    assert job.state == "done", output
    assert "Đang xử lý việc nền (hàng đợi " in output and "jobs.db), 1 việc cùng lúc" in output
    assert worker.returncode == 0, output


def test_stopping_the_worker_mid_job_marks_the_job_failed(deployment):
    job_id = deployment.queue(200)  # long enough to be stopped half-way
    log = open(deployment.log, "wb")
    worker = subprocess.Popen([*PORTAL, "worker"], cwd=ROOT, env=deployment.env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deployment.wait(job_id, ("running", "done"))
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    finally:
        _stop(worker, log)
    job = deployment.wait(job_id, ("done", "failed"), timeout=5)
    assert job.state == "failed", deployment.log.read_text()
    assert "máy chủ dừng" in job.message.lower()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_a_worker_and_stops_it_with_the_server(deployment):
    log = open(deployment.log, "wb")
    server = subprocess.Popen([*PORTAL, "serve", "--bind", f"127.0.0.1:{_free_port()}", "--workers", "1"],
                              cwd=ROOT, env=deployment.env, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    try:
        job = deployment.wait(deployment.queue(2), ("done", "failed"))
        assert job.state == "done", deployment.log.read_text()
        pid = int(re.search(r"chạy trong tiến trình (\d+)", deployment.log.read_text()).group(1))
        assert Path(f"/proc/{pid}").exists()
    finally:
        _stop(server, log)
    assert server.returncode == 0, deployment.log.read_text()
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped with the server
