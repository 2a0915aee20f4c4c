"""Background work (bulk certificate PDFs, large exports) with progress.

The records live in the database so that any app host can show a job's progress and serve its
result, whichever worker ran it: ``Job`` (state, progress) and ``JobChunk`` (the result file,
in pieces of at most a megabyte so it streams in bounded memory).

The work itself goes through a Huey queue (``huey``): SQLite in the instance folder by default,
Redis for several hosts, inline under tests. ``portal worker`` consumes it (``portal serve`` starts
one); the ``jobs`` blueprint shows a job's progress page, its JSON and the download.
"""

import contextlib
import datetime as dt
import json
import os
import re
import tempfile

import peewee as pw
from flask import (Blueprint, Response, abort, current_app, has_app_context, jsonify, render_template,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from huey import Huey, crontab, signals
from huey.storage import RedisStorage, SqliteStorage

from . import db as dbmod
from .accounts import permissions
from .accounts.models import Unit, User, utcnow
from .accounts.users import ascii_fold
from .certificates.models import Certificate
from .db import BaseModel, NFCCharField, NFCTextField
from .errors import DomainError


class Job(BaseModel):
    STATES = ("queued", "running", "done", "failed")

    kind = pw.CharField(max_length=64)
    params = pw.TextField(default="{}")  # JSON
    state = pw.CharField(max_length=16, default="queued")
    done = pw.IntegerField(default=0)
    total = pw.IntegerField(default=0)
    message = NFCTextField(default="")  # the error shown when it failed
    owner_unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="SET NULL")  # whose organisers see it
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    result_name = NFCCharField(max_length=255, default="")  # the download's file name
    result_mime = pw.CharField(max_length=64, default="")
    result_size = pw.BigIntegerField(default=0)
    heartbeat_at = pw.DateTimeField(null=True)  # the running worker's last sign of life
    tries = pw.SmallIntegerField(default=0)  # how many times a worker took it (a dead worker's job is retried)

    @property
    def arguments(self):
        return json.loads(self.params)

    @property
    def percent(self):
        return 100 if self.state == "done" else (100 * self.done // self.total if self.total else 0)


class JobChunk(BaseModel):
    job = pw.ForeignKeyField(Job, backref="chunks", on_delete="CASCADE")
    seq = pw.IntegerField()
    data = pw.BlobField()

    class Meta:
        indexes = ((("job", "seq"), True),)


# --- The queue -------------------------------------------------------------------------------------------------

# One queue object per process: tasks register on it at import, and init_app points it at the storage the
# configuration names. Until then (and in tests) it runs each task inline.
huey = Huey("portal", results=False, immediate=True)
_app = None  # the app whose configuration the consumer's tasks run under

CHUNK_SIZE = 1024 * 1024  # a JobChunk's size: a download streams in bounded memory
FORMATS = {"pdf": "application/pdf", "zip": "application/zip"}
PERMISSIONS = {"certificates": "certificate.manage"}  # who may follow a job of each kind (besides its creator)


class LazySqliteStorage(SqliteStorage):
    """Huey's SQLite storage, creating its file and tables on first use: building the app touches no data."""

    def __init__(self, name="huey", filename="huey.db", **kwargs):
        super().__init__(name, filename, create_tables=False, **kwargs)

    def _create_connection(self):
        os.makedirs(os.path.dirname(self.filename), exist_ok=True)
        conn = super()._create_connection()
        for sql in self.ddl:  # all "if not exists"
            conn.execute(sql)
        return conn


def init_app(app):
    """Point the queue at JOBS_URL: empty means SQLite in the instance folder, redis://… a shared Redis.

    Tests (and JOBS_IMMEDIATE) run each task inline, at enqueue.
    """
    global _app
    url = app.config["JOBS_URL"] or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        storage_class, kwargs = RedisStorage, {"url": url}
    elif url:
        raise RuntimeError(f"JOBS_URL must be empty (SQLite in the instance folder) or redis://…, not {url!r}.")
    else:
        storage_class, kwargs = LazySqliteStorage, {"filename": os.path.join(app.instance_path, "jobs.db")}
    immediate = app.config["JOBS_IMMEDIATE"]
    old = huey.storage
    huey.name = app.config["JOBS_QUEUE"]
    huey.storage_class, huey.storage_kwargs = storage_class, kwargs
    # Set directly: the public setter rebuilds the storage only when the mode changes, and it is rebuilt here anyway.
    huey._immediate = app.testing if immediate is None else bool(immediate)
    huey.storage = huey.create_storage()
    old.close()
    _app = app


@contextlib.contextmanager
def _worker_context():
    """An app context and a database connection for a task.

    The consumer's threads have neither (they use the app that ``portal worker`` built, or build one); a task
    run inline (tests, JOBS_IMMEDIATE) runs inside the caller's and leaves its connection open.
    """
    if has_app_context():
        app_context = contextlib.nullcontext()
    else:
        from . import create_app  # the package imports this module: the factory is only there at run time

        app_context = (_app or create_app()).app_context()
    with app_context:
        dbmod.database.obj = current_app.extensions["portal_db"]
        opened = dbmod.database.is_closed()
        if opened:
            dbmod.database.connect()
        try:
            yield
        finally:
            if opened and not dbmod.database.is_closed():
                dbmod.database.close()


@huey.task()
def run_certificates_task(job_id):
    with _worker_context():
        run_certificates(job_id, current_app.config["JOBS_RENDER_PROCESSES"], utcnow)


@huey.periodic_task(crontab(minute="17"))
def purge_jobs_task():
    with _worker_context():
        purge_jobs(utcnow(), current_app.config["JOBS_KEEP_DAYS"])


@huey.signal(signals.SIGNAL_INTERRUPTED)
def _interrupted(signal, task, *args, **kwargs):
    """The consumer stopped in the middle of a job: say so, rather than leave it "running" for ever."""
    if isinstance(task, run_certificates_task.task_class):
        with _worker_context():
            _fail(task.args[0], _("The server stopped while the file was being made. Please start it again."),
                  utcnow())


# --- Certificates as one PDF or a ZIP ----------------------------------------------------------------------------

def start_certificates(actor, owner_unit, certificate_ids, fmt, title):
    """Queue the certificates (in id order) as one print-ready PDF or a ZIP of single PDFs; return the job.

    Call it outside a transaction: a worker must find the job's row as soon as the task is queued.
    """
    if fmt not in FORMATS:
        raise DomainError(_("Format: choose PDF or ZIP."), field="fmt")
    ids = sorted({int(i) for i in certificate_ids})
    if not ids:
        raise DomainError(_("There are no certificates to download."))
    job = Job.create(kind="certificates", params=json.dumps({"ids": ids, "fmt": fmt, "title": title}),
                     total=len(ids), owner_unit=owner_unit, created_by=actor)
    try:
        run_certificates_task(job.id)
    except Exception:
        if huey.immediate:
            raise
        current_app.logger.exception("Could not queue job %s", job.id)
        job.delete_instance(recursive=True)
        raise DomainError(_("The job queue is not available. Please try again in a moment, or tell the "
                            "administrator.")) from None
    return Job.get_by_id(job.id)  # a task run inline has moved it on already


def result_name(title, fmt):
    """The download's file name, without diacritics: "Giấy khen vòng 1" -> giay-khen-vong-1.pdf."""
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_fold(title or "").lower()).strip("-")[:80].strip("-")
    return f"{slug or 'giay-khen'}.{fmt}"


def certificates_by_source(prefix, all_statuses=False):
    """Certificates whose source starts with ``prefix`` ("contest:1/round:2/"), in id order; valid ones only
    unless ``all_statuses``."""
    query = Certificate.select().where(Certificate.source.startswith(prefix))
    if not all_statuses:
        query = query.where(Certificate.status == "valid")
    return query.order_by(Certificate.id)


def write_certificates(datas, fmt, path, progress=None, processes=1):
    """Render certificate snapshots into ``path``: one PDF (a page each) or a ZIP of single PDFs."""
    from .certificates import render  # WeasyPrint loads only where documents are made

    writer = render.write_pdf if fmt == "pdf" else render.write_zip
    writer(datas, path, images=render.load_images(datas), progress=progress, processes=processes)


class _Progress:
    """Stores a job's count of pages done about every 2% (a write per page would cost as much as the page)."""

    def __init__(self, job_id, total):
        self.job_id = job_id
        self.step = max(1, total // 50)
        self.written = 0

    def __call__(self, done, total):
        if done - self.written >= self.step or (done >= total and done != self.written):
            Job.update(done=done, heartbeat_at=utcnow()).where(Job.id == self.job_id).execute()
            self.written = done


def run_certificates(job_id, processes, clock=utcnow):
    """Do a certificates job: render, store the file in chunks, mark it done; on any error mark it failed.

    Runs once: a job no longer queued (done, failed, or taken by another worker) is left alone.
    """
    now = clock()
    claimed = (Job.update(state="running", started_at=now, heartbeat_at=now, tries=Job.tries + 1, done=0)
               .where(Job.id == job_id, Job.state == "queued").execute())
    if not claimed:
        return
    job = Job.get_by_id(job_id)
    args = job.arguments
    try:
        certificates = list(Certificate.select().where(Certificate.id.in_(args["ids"])).order_by(Certificate.id))
        if len(certificates) != len(args["ids"]):
            raise DomainError(_("Some of these certificates no longer exist. Please start the download again."))
        with tempfile.TemporaryDirectory(prefix="portal-job-") as folder:
            path = os.path.join(folder, "result." + args["fmt"])
            write_certificates([c.values for c in certificates], args["fmt"], path,
                               progress=_Progress(job_id, job.total), processes=processes)
            _store(job, path, result_name(args.get("title"), args["fmt"]), FORMATS[args["fmt"]], clock())
    except Exception as exc:
        current_app.logger.exception("Job %s failed", job_id)
        message = str(exc) if isinstance(exc, DomainError) else _(
            "The file could not be made because of an error on the server (job %(id)s). Please try again, or "
            "tell the administrator: the details are in the server log.", id=job_id)
        _fail(job_id, message, clock(), tries=job.tries)


def _store(job, path, name, mime, now):
    """Copy the finished file into the job's chunks and mark it done, in one transaction: all or nothing."""
    size = os.path.getsize(path)
    with dbmod.database.atomic():
        JobChunk.delete().where(JobChunk.job == job.id).execute()
        with open(path, "rb") as fh:
            for seq, piece in enumerate(iter(lambda: fh.read(CHUNK_SIZE), b"")):
                JobChunk.insert(job=job.id, seq=seq, data=piece).execute()
        done = (Job.update(state="done", done=job.total, finished_at=now, result_name=name, result_mime=mime,
                           result_size=size)
                .where(Job.id == job.id, Job.state == "running", Job.tries == job.tries).execute())
        if not done:  # marked failed meanwhile (the consumer was stopping): keep that, and no file
            raise DomainError(_("The server stopped while the file was being made. Please start it again."))


STALE_AFTER = dt.timedelta(minutes=3)  # a running job's worker silent this long is taken for dead
MAX_TRIES = 3


def reap_stalled(now, requeue=None):
    """Jobs whose worker died (killed, the machine restarted) stay "running" with no sign of life: queue them
    again (the file is made from the start; a half-made one was never stored), or after MAX_TRIES mark them
    failed. Returns (requeued ids, failed ids). Each change is a compare-and-set, so two reapers agree."""
    requeue = requeue or (lambda job_id: run_certificates_task(job_id))
    requeued, failed = [], []
    stale = (Job.select(Job.id, Job.tries).where(Job.state == "running", Job.heartbeat_at < now - STALE_AFTER)
             .tuples())
    for job_id, tries in list(stale):
        if tries >= MAX_TRIES:
            with dbmod.database.atomic():
                JobChunk.delete().where(JobChunk.job == job_id).execute()
                if (Job.update(state="failed", finished_at=now, message=_(
                        "The file could not be made: the server stopped %(n)s times while making it. Please tell "
                        "the administrator.", n=tries))
                        .where(Job.id == job_id, Job.state == "running", Job.tries == tries).execute()):
                    failed.append(job_id)
            continue
        if (Job.update(state="queued", heartbeat_at=None)
                .where(Job.id == job_id, Job.state == "running", Job.tries == tries,
                       Job.heartbeat_at < now - STALE_AFTER).execute()):
            requeued.append(job_id)
            requeue(job_id)
    return requeued, failed


@huey.periodic_task(crontab(minute="*"))
def reap_stalled_task():
    with _worker_context():
        reap_stalled(utcnow())


def _fail(job_id, message, now, tries=None):
    """Mark the job failed, with no file; ``tries``: only if it is still this worker's try (a job the reaper
    gave to another worker is left to that one)."""
    query = Job.update(state="failed", message=message, finished_at=now).where(
        Job.id == job_id, Job.state.in_(("queued", "running")))
    if tries is not None:
        query = query.where(Job.tries == tries)
    with dbmod.database.atomic():
        if query.execute():
            JobChunk.delete().where(JobChunk.job == job_id).execute()


def purge_jobs(now, keep_days):
    """Delete the jobs started more than ``keep_days`` ago, with their files; return how many."""
    old = Job.select(Job.id).where(Job.created_at < now - dt.timedelta(days=keep_days))
    with dbmod.database.atomic():
        JobChunk.delete().where(JobChunk.job.in_(old)).execute()
        return Job.delete().where(Job.id.in_(old)).execute()


def may_follow(user, job):
    """See a job's progress and download its file: its creator, or whoever may manage what it made."""
    if permissions.can(user, "home.view") and job.created_by_id == user.id:
        return True
    return permissions.can(user, PERMISSIONS.get(job.kind, "units.manage"), job)


def read_chunks(job):
    """The job's file, a chunk at a time (one query each: the whole file is never in memory)."""
    ids = [c.id for c in JobChunk.select(JobChunk.id).where(JobChunk.job == job.id).order_by(JobChunk.seq)]
    for chunk_id in ids:
        yield bytes(JobChunk.select(JobChunk.data).where(JobChunk.id == chunk_id).scalar())


# --- Pages -------------------------------------------------------------------------------------------------------

blueprint = Blueprint("jobs", __name__, url_prefix="/jobs")


@blueprint.before_request
@login_required
def _logged_in():
    """Anonymous visitors go to the login page."""


def get_job(job_id):
    job = Job.get_or_none(Job.id == job_id) or abort(404)
    if not may_follow(current_user, job):
        abort(403)
    return job


def state_label(job):
    if job.state == "queued":
        return _("Waiting for its turn…")
    if job.state == "running":
        return _("Saving the file…") if job.total and job.done >= job.total else _("Making the file…")
    return _("Ready") if job.state == "done" else _("The file could not be made")


@blueprint.route("/")
def index():
    """The current user's jobs of the last days, newest first."""
    rows = (Job.select().where(Job.created_by == current_user.id)
            .order_by(Job.created_at.desc(), Job.id.desc()).limit(50))
    return render_template("jobs/index.html", jobs=list(rows), state_label=state_label)


@blueprint.route("/<int:job_id>")
def job(job_id):
    job = get_job(job_id)
    return render_template("jobs/job.html", job=job, title=job.arguments.get("title") or _("Background job"),
                           state_label=state_label(job))


@blueprint.route("/<int:job_id>.json")
def status(job_id):
    job = get_job(job_id)
    return jsonify(state=job.state, label=state_label(job), done=job.done, total=job.total, percent=job.percent,
                   message=job.message if job.state == "failed" else "",
                   download_url=url_for(".download", job_id=job.id) if job.state == "done" else None)


@blueprint.route("/<int:job_id>/download")
def download(job_id):
    job = get_job(job_id)
    if job.state != "done":
        abort(404)
    response = Response(stream_with_context(read_chunks(job)), mimetype=job.result_mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{job.result_name}"'
    response.headers["Content-Length"] = str(job.result_size)
    return response
