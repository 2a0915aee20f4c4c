"""Background jobs: certificates in bulk as one PDF or a ZIP, progress, access, failures, the real queues."""

import datetime as dt
import io
import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
import zipfile

import pytest

from portal import jobs
from portal.accounts.models import utcnow
from portal.certificates import render
from portal.certificates.models import Certificate
from portal.errors import DomainError
from portal.jobs import Job, JobChunk

NAMES = ["Nguyễn Thị Ngọc Hưởng", "Đặng Quỳnh Ỷ", "Lê Thị Thu Hằng"]
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
_codes = itertools.count(1)


@pytest.fixture
def committee(make_unit):
    return make_unit("HD", "Đảng bộ huyện Hiệp Đức", "committee")


@pytest.fixture
def make_certificates(committee):
    """make_certificates(names, source=..., owner_unit=..., status=..., kind=...): issued certificate rows."""

    def make_certificates(names=NAMES, source="manual:", owner_unit=None, status="valid", kind="merit"):
        made = []
        for name in names:
            code = f"J{next(_codes):09d}"
            data = render.sample_data({"recipient_name": name, "code": code, "kind": kind,
                                       "verify_url": f"http://portal.test/verify/{code[:5]}-{code[5:]}"})
            made.append(Certificate.create(code=code, kind=kind, owner_unit=owner_unit or committee,
                                           source=f"{source}{uuid.uuid4().hex}" if source == "manual:" else source,
                                           recipient_name=name, data=json.dumps(data), status=status))
        return made

    return make_certificates


@pytest.fixture
def organiser(make_user, committee):
    return make_user(role="organiser", scope=committee, unit=committee)


def _file(job):
    return b"".join(bytes(c.data) for c in JobChunk.select().where(JobChunk.job == job.id).order_by(JobChunk.seq))


def _pdf_pages(content, tmp_path):
    path = tmp_path / "out.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _pdf_text(content, tmp_path):
    path = tmp_path / "text.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_pdf_job_makes_one_print_ready_pdf_with_a_page_per_certificate_in_order(
        organiser, committee, make_certificates, tmp_path):
    certificates = make_certificates()
    job = jobs.start_certificates(organiser, committee, [c.id for c in reversed(certificates)], "pdf",
                                  "Giấy khen vòng 1")
    assert (job.state, job.done, job.total, job.percent) == ("done", 3, 3, 100)
    assert (job.result_name, job.result_mime) == ("giay-khen-vong-1.pdf", "application/pdf")
    content = _file(job)
    assert job.result_size == len(content) and content.startswith(b"%PDF")
    assert _pdf_pages(content, tmp_path) == 3
    text = _pdf_text(content, tmp_path)
    assert [text.index(name) for name in NAMES] == sorted(text.index(name) for name in NAMES)  # id order
    assert job.arguments == {"ids": [c.id for c in certificates], "fmt": "pdf", "title": "Giấy khen vòng 1"}
    assert job.started_at is not None and job.finished_at is not None and job.message == ""


def test_a_zip_job_holds_a_pdf_per_certificate_named_in_ascii(organiser, committee, make_certificates, tmp_path):
    certificates = make_certificates()
    job = jobs.start_certificates(organiser, committee, [c.id for c in certificates], "zip", "Giấy khen Đợt 2")
    assert (job.state, job.result_name, job.result_mime) == ("done", "giay-khen-dot-2.zip", "application/zip")
    with zipfile.ZipFile(io.BytesIO(_file(job))) as archive:
        names = archive.namelist()
        assert len(names) == 3
        assert all(name.isascii() and name.endswith(".pdf") for name in names)
        assert "Nguyen-Thi-Ngoc-Huong" in names[0] and "Dang-Quynh-Y" in names[1]
        assert _pdf_pages(archive.read(names[2]), tmp_path) == 1
        assert "Lê Thị Thu Hằng" in _pdf_text(archive.read(names[2]), tmp_path)


def test_a_big_file_is_stored_in_chunks_and_downloads_whole(organiser, committee, make_certificates, client, auth,
                                                            monkeypatch, tmp_path):
    monkeypatch.setattr(jobs, "CHUNK_SIZE", 4096)  # several chunks from three pages
    job = jobs.start_certificates(organiser, committee, [c.id for c in make_certificates()], "pdf", "Giấy khen")
    chunks = list(JobChunk.select().where(JobChunk.job == job.id).order_by(JobChunk.seq))
    assert len(chunks) > 3 and all(len(bytes(c.data)) <= 4096 for c in chunks)
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    auth.login(organiser.username)
    response = client.get(f"/jobs/{job.id}/download")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="giay-khen.pdf"'
    assert response.headers["Content-Length"] == str(job.result_size)
    assert response.data == _file(job)
    assert _pdf_pages(response.data, tmp_path) == 3


def test_the_progress_page_and_its_json_follow_the_job(organiser, committee, client, auth):
    job = Job.create(kind="certificates", params=json.dumps({"ids": [1, 2, 3], "fmt": "pdf", "title": "Giấy khen"}),
                     state="running", done=1, total=3, owner_unit=committee, created_by=organiser)
    auth.login(organiser.username)
    assert client.get(f"/jobs/{job.id}.json").get_json() == {
        "state": "running", "label": "Đang tạo tệp…", "done": 1, "total": 3, "percent": 33, "message": "",
        "download_url": None}
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert '<progress class="job-progress" max="100" value="33"' in page
    assert "1 / 3 giấy" in page and "33%" in page
    assert '<noscript><meta http-equiv="refresh"' in page  # follows the job without JavaScript too
    assert "/static/js/jobs.js" in page and "Tải về" not in page

    Job.update(state="done", done=3, result_name="giay-khen.pdf", result_mime="application/pdf",
               result_size=2_500_000).where(Job.id == job.id).execute()
    status = client.get(f"/jobs/{job.id}.json").get_json()
    assert (status["state"], status["percent"], status["download_url"]) == ("done", 100, f"/jobs/{job.id}/download")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'href="/jobs/{job.id}/download"' in page and "Tải về" in page and "2,4 MB" in page
    assert "http-equiv" not in page


def test_progress_is_stored_in_steps_of_about_two_percent(organiser, committee):
    job = Job.create(kind="certificates", state="running", total=1000, owner_unit=committee, created_by=organiser)
    progress, seen = jobs._Progress(job.id, 1000), []
    for done in range(1, 1001):
        progress(done, 1000)
        seen.append(Job.get_by_id(job.id).done)
    assert len(set(seen)) == 51  # 0, then every 20 pages: 50 writes for 1,000 pages, not 1,000
    assert seen[19] == 20 and seen[-1] == 1000


def test_a_queued_job_says_it_waits(organiser, committee, client, auth):
    job = Job.create(kind="certificates", params=json.dumps({"title": "Giấy khen"}), total=5, owner_unit=committee,
                     created_by=organiser)
    auth.login(organiser.username)
    assert client.get(f"/jobs/{job.id}.json").get_json()["label"] == "Đang chờ đến lượt…"
    assert client.get(f"/jobs/{job.id}/download").status_code == 404  # nothing to download yet


@pytest.mark.parametrize("who, status", [("creator", 200), ("parent organiser", 200), ("admin", 200),
                                         ("other organiser", 403), ("member", 403)])
def test_only_the_creator_and_the_organisers_of_the_job_unit_follow_it(
        who, status, organiser, committee, make_certificates, make_unit, make_user, client, auth):
    province = make_unit("QN", "Đảng bộ tỉnh Quảng Nam", "committee")
    district = make_unit("QN-TB", "Đảng bộ huyện Thăng Bình", "committee", parent=province)
    job = jobs.start_certificates(organiser, district, [c.id for c in make_certificates(owner_unit=district)], "pdf",
                                  "Giấy khen")
    user = {"creator": organiser,
            "parent organiser": make_user(role="organiser", scope=province, unit=province),
            "admin": make_user(role="admin"),
            "other organiser": make_user(role="organiser", scope=committee, unit=committee),
            "member": make_user(unit=district)}[who]
    auth.login(user.username)
    for url in (f"/jobs/{job.id}", f"/jobs/{job.id}.json", f"/jobs/{job.id}/download"):
        assert client.get(url).status_code == status, url


def test_anonymous_visitors_are_sent_to_log_in(organiser, committee, client):
    job = Job.create(kind="certificates", total=1, owner_unit=committee, created_by=organiser)
    for url in (f"/jobs/{job.id}", f"/jobs/{job.id}.json", f"/jobs/{job.id}/download", "/jobs/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert client.get("/jobs/999999").status_code == 302


def test_a_missing_job_is_404(login, client):
    login(role="organiser")
    assert client.get("/jobs/999999").status_code == 404


def test_a_failing_render_leaves_the_job_failed_with_a_message_and_no_file(
        organiser, committee, make_certificates, client, auth, monkeypatch):
    def half_then_crash(datas, fmt, path, progress=None, processes=1):
        with open(path, "wb") as fh:
            fh.write(b"%PDF-1.7 half a file")
        progress(1, len(datas))
        raise RuntimeError("out of fonts")

    monkeypatch.setattr(jobs, "write_certificates", half_then_crash)
    job = jobs.start_certificates(organiser, committee, [c.id for c in make_certificates()], "pdf", "Giấy khen")
    assert job.state == "failed" and job.finished_at is not None
    assert job.message.startswith("Không tạo được tệp do lỗi trên máy chủ")
    assert f"việc số {job.id}" in job.message and "out of fonts" not in job.message  # details stay in the log
    assert JobChunk.select().where(JobChunk.job == job.id).count() == 0
    assert (job.result_name, job.result_size) == ("", 0)
    auth.login(organiser.username)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert job.message in page and "Không tạo được tệp" in page and "Tải về" not in page
    assert client.get(f"/jobs/{job.id}.json").get_json()["message"] == job.message
    assert client.get(f"/jobs/{job.id}/download").status_code == 404


def test_a_failure_while_storing_the_file_keeps_no_chunk(organiser, committee, make_certificates, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK_SIZE", 4096)
    real_insert, calls = JobChunk.insert, []

    def insert_then_fail(**row):
        calls.append(row["seq"])
        if len(calls) == 3:
            raise OSError("disk full")
        return real_insert(**row)

    monkeypatch.setattr(JobChunk, "insert", insert_then_fail)
    job = jobs.start_certificates(organiser, committee, [c.id for c in make_certificates()], "pdf", "Giấy khen")
    assert job.state == "failed" and calls == [0, 1, 2]
    assert JobChunk.select().where(JobChunk.job == job.id).count() == 0  # the two stored ones are rolled back


def test_a_certificate_gone_before_the_job_ran_fails_it_clearly(organiser, committee, make_certificates):
    ids = [c.id for c in make_certificates()]
    job = Job.create(kind="certificates", params=json.dumps({"ids": ids + [ids[-1] + 1000], "fmt": "zip"}),
                     total=4, owner_unit=committee, created_by=organiser)
    jobs.run_certificates(job.id, processes=1)
    job = Job.get_by_id(job.id)
    assert job.state == "failed" and "không còn" in job.message


def test_a_job_runs_once(organiser, committee, make_certificates, monkeypatch):
    job = jobs.start_certificates(organiser, committee, [c.id for c in make_certificates()], "zip", "Giấy khen")
    size = job.result_size
    monkeypatch.setattr(jobs, "write_certificates", lambda *a, **k: pytest.fail("rendered a second time"))
    jobs.run_certificates(job.id, processes=1)  # the same task delivered again
    assert (Job.get_by_id(job.id).state, Job.get_by_id(job.id).result_size) == ("done", size)


@pytest.mark.parametrize("ids, fmt, message", [([], "pdf", "Không có giấy"), ([1], "docx", "PDF hoặc ZIP")])
def test_start_refuses_nothing_to_do_and_unknown_formats(organiser, committee, ids, fmt, message):
    with pytest.raises(DomainError, match=message):
        jobs.start_certificates(organiser, committee, ids, fmt, "Giấy khen")
    assert Job.select().count() == 0


def test_an_unavailable_queue_leaves_no_job_behind(organiser, committee, make_certificates, monkeypatch):
    ids = [c.id for c in make_certificates()]
    jobs.huey.immediate = False

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(jobs.huey.storage, "enqueue", down)
    try:
        with pytest.raises(DomainError, match="Hàng đợi việc nền"):
            jobs.start_certificates(organiser, committee, ids, "pdf", "Giấy khen")
    finally:
        jobs.huey.immediate = True
    assert Job.select().count() == 0


def test_a_job_cut_short_by_a_stopping_worker_is_marked_failed(organiser, committee):
    job = Job.create(kind="certificates", state="running", total=3, owner_unit=committee, created_by=organiser)
    jobs.huey._emit(jobs.signals.SIGNAL_INTERRUPTED, jobs.run_certificates_task.s(job.id))
    job = Job.get_by_id(job.id)
    assert job.state == "failed" and "máy chủ dừng" in job.message.lower()


def test_a_job_whose_worker_died_is_queued_again_and_finished_whole(organiser, committee, make_certificates,
                                                                     tmp_path):
    """kill -9 of the worker mid-render: the job stays "running" with an old heartbeat and no file. The reaper
    queues it again; the next worker renders it from the start and stores the whole file."""
    ids = [c.id for c in make_certificates()]
    params = json.dumps({"ids": ids, "fmt": "pdf", "title": "Giấy khen"})
    died = utcnow() - jobs.STALE_AFTER - dt.timedelta(seconds=1)
    job = Job.create(kind="certificates", params=params, state="running", total=len(ids), done=1, tries=1,
                     started_at=died, heartbeat_at=died, owner_unit=committee, created_by=organiser)
    alive = Job.create(kind="certificates", params=params, state="running", total=len(ids), tries=1,
                       heartbeat_at=utcnow(), owner_unit=committee, created_by=organiser)
    assert JobChunk.select().where(JobChunk.job == job.id).count() == 0  # nothing half-made is presented
    assert jobs.reap_stalled(utcnow()) == ([job.id], [])  # the queue runs it inline under TESTING
    job = Job.get_by_id(job.id)
    assert (job.state, job.tries, job.done) == ("done", 2, len(ids))
    assert _pdf_pages(_file(job), tmp_path) == len(ids)  # the whole file, a page per certificate
    assert Job.get_by_id(alive.id).state == "running"  # a worker still beating is left alone


def test_a_job_that_keeps_killing_its_worker_fails_after_three_tries(organiser, committee):
    died = utcnow() - jobs.STALE_AFTER - dt.timedelta(minutes=1)
    job = Job.create(kind="certificates", state="running", total=3, tries=jobs.MAX_TRIES, heartbeat_at=died,
                     owner_unit=committee, created_by=organiser)
    JobChunk.create(job=job, seq=0, data=b"%PDF-half")
    requeued = []
    assert jobs.reap_stalled(utcnow(), requeue=requeued.append) == ([], [job.id])
    job = Job.get_by_id(job.id)
    assert job.state == "failed" and "3" in job.message and requeued == []
    assert JobChunk.select().where(JobChunk.job == job.id).count() == 0


def test_old_jobs_and_their_files_are_purged(organiser, committee, make_certificates):
    ids = [c.id for c in make_certificates()]
    old = jobs.start_certificates(organiser, committee, ids, "pdf", "Cũ")
    recent = jobs.start_certificates(organiser, committee, ids, "pdf", "Mới")
    Job.update(created_at=utcnow() - dt.timedelta(days=8)).where(Job.id == old.id).execute()
    assert jobs.purge_jobs(utcnow(), keep_days=7) == 1
    assert [j.id for j in Job.select()] == [recent.id]
    assert {c.job_id for c in JobChunk.select()} == {recent.id}


def test_my_downloads_lists_my_jobs(organiser, committee, make_certificates, make_user, client, auth):
    ids = [c.id for c in make_certificates()]
    mine = jobs.start_certificates(organiser, committee, ids, "zip", "Giấy khen vòng 3")
    other = make_user(role="organiser", scope=committee, unit=committee)
    jobs.start_certificates(other, committee, ids, "zip", "Giấy khen của người khác")
    auth.login(organiser.username)
    page = client.get("/jobs/").get_data(as_text=True)
    assert "Giấy khen vòng 3" in page and f'href="/jobs/{mine.id}/download"' in page
    assert "người khác" not in page


def test_the_result_name_is_ascii():
    assert jobs.result_name("Giấy khen: Hội thi «Học và làm theo» 2025, vòng 1", "pdf") == \
        "giay-khen-hoi-thi-hoc-va-lam-theo-2025-vong-1.pdf"
    assert jobs.result_name("Đợt", "zip") == "dot.zip"
    assert jobs.result_name("«»", "zip") == "giay-khen.zip"


# -- the real queues: a consumer in a thread, as `portal worker` runs it ------------------------------------------

def _run_with_a_consumer(job_id, timeout=60):
    """Start a real consumer (one thread), wait for the job to end, stop it; return the job."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = jobs.huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = Job.get_by_id(job_id)
            if job.state in ("done", "failed"):
                return job
            time.sleep(0.05)
        pytest.fail(f"the job is still {job.state} after {timeout} s")
    finally:
        consumer.stop(graceful=True)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


@pytest.fixture
def real_queue(app):
    """The configured queue, not run inline: jobs wait until a consumer takes them."""
    jobs.huey.immediate = False
    yield jobs.huey
    jobs.huey.storage.flush_queue()
    jobs.huey.storage.close()
    jobs.huey.immediate = True


def test_a_sqlite_queue_and_a_consumer_do_the_job(app, real_queue, organiser, committee, make_certificates,
                                                  tmp_path):
    assert real_queue.storage.filename == os.path.join(app.instance_path, "jobs.db")
    job = jobs.start_certificates(organiser, committee, [c.id for c in make_certificates()], "pdf", "Giấy khen")
    assert (job.state, real_queue.pending_count()) == ("queued", 1)  # waits for a worker
    assert threading.current_thread() is threading.main_thread()
    job = _run_with_a_consumer(job.id)
    assert job.state == "done", job.message
    assert _pdf_pages(_file(job), tmp_path) == 3
    assert real_queue.pending_count() == 0


@pytest.mark.skipif(not REDIS_URL, reason="Redis queue: set PORTAL_TEST_REDIS_URL (as .ci/run does)")
def test_a_redis_queue_and_a_consumer_do_the_job(app, organiser, committee, make_certificates, tmp_path):
    app.config.update(JOBS_URL=REDIS_URL, JOBS_QUEUE=f"portal-test-{uuid.uuid4().hex[:8]}")  # runs never mix
    jobs.init_app(app)
    jobs.huey.immediate = False
    try:
        assert type(jobs.huey.storage).__name__ == "RedisStorage"
        job = jobs.start_certificates(organiser, committee, [c.id for c in make_certificates()], "zip", "Giấy khen")
        assert (job.state, jobs.huey.pending_count()) == ("queued", 1)
        job = _run_with_a_consumer(job.id)
        assert job.state == "done", job.message
        with zipfile.ZipFile(io.BytesIO(_file(job))) as archive:
            assert len(archive.namelist()) == 3
    finally:
        jobs.huey.storage.flush_all()
        jobs.huey.immediate = True


def test_an_unknown_queue_url_stops_the_start(tmp_path, monkeypatch):
    from portal import create_app

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(RuntimeError, match="JOBS_URL must be empty"):
        create_app({"TESTING": True, "SECRET_KEY": "dev", "JOBS_URL": "amqp://127.0.0.1"})
