"""The `portal` command (a Flask CLI group: `flask --app portal ...` works too)."""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from contextlib import closing

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import db as dbmod
from .errors import DomainError


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             help="Portal: quizzes, contests, pledges and certificates.")
def main():
    """The `portal` console script."""


def fail(message):
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the database or upgrade it to the current schema."""
    applied = dbmod.migrate()
    if applied:
        click.echo("Đã áp dụng: " + ", ".join(applied))
    click.echo(f"Cơ sở dữ liệu đã sẵn sàng ({_database_label()}).")


def _database_label():
    db = dbmod.database.obj
    return db.database if dbmod.is_sqlite(db) else f"PostgreSQL {db.database}"


def _require_schema():
    pending = dbmod.pending_migrations()
    if pending:
        fail("Cơ sở dữ liệu chưa được tạo hoặc chưa nâng cấp. Hãy chạy: portal init-db")


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Load only when the database has no units yet.")
@with_appcontext
def demo_command(if_empty):
    """Load the demo organisation and accounts (safe to run twice)."""
    from . import demo

    _require_schema()
    with dbmod.database.connection_context():
        loaded = demo.load(if_empty=if_empty)
    click.echo("Đã nạp dữ liệu mẫu." if loaded else "Dữ liệu đã có sẵn, không nạp thêm.")
    click.echo(demo.login_help(current_app.config.get("PUBLIC_URL")))


@click.command("create-admin")
@click.argument("username")
@click.option("--full-name", default="Quản trị hệ thống", show_default=True)
@click.option("--password", help="For a new account; leave out to be asked (twice). Not asked for an existing one.")
@with_appcontext
def create_admin_command(username, full_name, password):
    """Create an admin account, or make an existing account admin."""
    from .accounts import users
    from .accounts.auth import validate_new_password
    from .accounts.models import User

    _require_schema()
    with dbmod.database.connection_context():
        try:
            user = User.get_or_none(User.username == username.lower())
            if user is None:
                if password is None:
                    password = click.prompt("Mật khẩu", hide_input=True, confirmation_prompt=True)
                problem = validate_new_password(password)
                if problem:
                    fail(problem)
                user, _ = users.create_user(None, username, full_name, password=password)
            if not any(g.role == "admin" for g in user.grants):
                users.grant_role(None, user, "admin")
        except DomainError as exc:
            fail(str(exc))
    click.echo(f"Tài khoản {user.username} có quyền quản trị.")


def pg_dump_url(url):
    """The database URL as libpq reads it: the pool's scheme and Peewee's pool settings removed."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url.replace("postgresql+pool://", "postgresql://").replace("postgres+pool://", "postgresql://"))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("max_connections", "stale_timeout", "timeout")]
    return urlunsplit(parts._replace(query=urlencode(query)))


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(target):
    """Write a consistent copy of the database to TARGET while the portal runs."""
    db = dbmod.database.obj
    target = os.path.abspath(target)
    if dbmod.is_sqlite(db):
        try:
            fd, tmp = tempfile.mkstemp(prefix=".portal-backup-", dir=os.path.dirname(target))
        except OSError as exc:
            fail(f"Không sao lưu được: {exc}")
        os.close(fd)
        try:
            # SQLite's online backup API: a snapshot, consistent under concurrent writes.
            # closing(): sqlite3's own context manager commits but leaves the connection open.
            with closing(sqlite3.connect(db.database, timeout=30)) as src, closing(sqlite3.connect(tmp)) as dst:
                src.backup(dst, pages=4096)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            with closing(sqlite3.connect(tmp)) as check:
                result = check.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                fail(f"Bản sao lỗi: {result}")
            os.replace(tmp, target)
        except sqlite3.Error as exc:
            fail(f"Không sao lưu được: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        if not shutil.which("pg_dump"):
            fail("Cần có lệnh pg_dump để sao lưu PostgreSQL.")
        url = pg_dump_url(current_app.config["DATABASE_URL"])
        done = subprocess.run(["pg_dump", "--format=custom", "--file", target, url],
                              capture_output=True, text=True)
        if done.returncode:
            fail(f"pg_dump lỗi: {done.stderr.strip()}")
    size = f"{os.path.getsize(target):,}".replace(",", ".")  # Vietnamese thousands separator
    click.echo(f"Đã sao lưu vào {target} ({size} byte).")


def _has_data(db):
    """True when the database already holds the portal's data (units or accounts)."""
    tables = set(db.get_tables())
    if "unit" not in tables and "user" not in tables:
        return False
    with db.connection_context():
        return any(db.execute_sql(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in ("unit", "user")
                   if t in tables)


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@with_appcontext
def restore_command(source, force):
    """Put back a copy made by `portal backup`, then upgrade it to the current schema.

    Refuses to replace a database that holds data unless --force (stop the portal first: members
    working during a restore would lose what they write).
    """
    db = dbmod.database.obj
    if _has_data(db) and not force:
        fail("Cơ sở dữ liệu hiện tại đang có dữ liệu. Hãy dừng cổng và chạy lại với --force để thay bằng bản sao "
             f"{source}.")
    if dbmod.is_sqlite(db):
        try:
            with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
                check = src.execute("PRAGMA integrity_check").fetchone()[0]
                if check != "ok":
                    fail(f"Bản sao {source} bị lỗi ({check}); không khôi phục.")
                names = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "schema_migration" not in names or "user" not in names:
                    fail(f"{source} không phải bản sao của cổng (không có bảng tài khoản và lịch sử nâng cấp).")
                db.close()
                # SQLite's backup API writes the copy into the live file under its locks: one step, and
                # connections opened later see the restored data (no file swapped under their feet).
                with closing(sqlite3.connect(db.database, timeout=30)) as dst:
                    src.backup(dst)
        except sqlite3.DatabaseError as exc:
            fail(f"Không đọc được {source} như một cơ sở dữ liệu SQLite: {exc}")
    else:
        if not (shutil.which("pg_restore") and shutil.which("psql")):
            fail("Cần có lệnh pg_restore và psql để khôi phục PostgreSQL.")
        with open(source, "rb") as fh:
            if fh.read(5) != b"PGDMP":
                fail(f"{source} không phải bản sao PostgreSQL của `portal backup` (định dạng pg_dump custom).")
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()
        # One transaction: the schema emptied and the copy loaded, or (on any error) nothing changed.
        script = subprocess.run(["pg_restore", "--no-owner", "--file", "-", source], capture_output=True)
        if script.returncode:
            fail(f"pg_restore lỗi: {script.stderr.decode(errors='replace').strip()[:2000]}")
        done = subprocess.run(["psql", "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1",
                               pg_dump_url(current_app.config["DATABASE_URL"])],
                              input=b"DROP SCHEMA public CASCADE; CREATE SCHEMA public;\n" + script.stdout,
                              capture_output=True)
        if done.returncode:
            fail(f"Khôi phục lỗi, cơ sở dữ liệu giữ nguyên: {done.stderr.decode(errors='replace').strip()[:2000]}")
    applied = dbmod.migrate()
    click.echo(f"Đã khôi phục từ {source}" + (f"; đã nâng cấp: {', '.join(applied)}." if applied else "."))


@click.command("serve")
@click.option("--bind", "-b", help="host:port (default SERVE_BIND, 127.0.0.1:5000).")
@click.option("--workers", "-w", type=int, help="Worker processes (default SERVE_WORKERS).")
@click.option("--threads", type=int, help="Threads per worker (default SERVE_THREADS).")
@with_appcontext
def serve_command(bind, workers, threads):
    """Serve the portal with gunicorn, the production server."""
    from gunicorn.app.base import BaseApplication

    _require_schema()
    # The check above opened a connection; a pooled one (postgresql+pool://) went back to the pool. Forked
    # workers must not inherit it: they would all talk over one socket and read each other's rows.
    db = dbmod.database.obj
    db.close()
    if hasattr(db, "close_all"):
        db.close_all()
    app = current_app._get_current_object()
    cfg = app.config
    options = {
        "bind": bind or cfg["SERVE_BIND"],
        "workers": workers or cfg["SERVE_WORKERS"],
        "threads": threads or cfg["SERVE_THREADS"],
        "worker_class": "gthread",
        "accesslog": cfg["SERVE_ACCESS_LOG"],
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
    }

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    click.echo(f"Portal đang chạy tại http://{options['bind']} (Ctrl+C để dừng).")
    worker = _start_embedded_worker(cfg)
    try:
        Server().run()
    finally:
        _stop_embedded_worker(worker)


def _start_embedded_worker(cfg):
    """`portal worker` beside gunicorn (JOBS_EMBEDDED_WORKER), so jobs run with no extra command."""
    from . import jobs

    if not cfg["JOBS_EMBEDDED_WORKER"] or jobs.huey.immediate:
        return None
    # A session of its own: Ctrl+C reaches gunicorn only, and the worker is stopped below, at once.
    worker = subprocess.Popen([sys.executable, "-m", "portal.cli", "worker"], start_new_session=True)
    click.echo(f"Việc nền (tải giấy khen hàng loạt) chạy trong tiến trình {worker.pid}.")
    return worker


def _stop_embedded_worker(worker):
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()  # huey stops at once; a job cut short is marked failed, never left "running"
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@click.command("import-members")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what the import would do; write nothing.")
@click.option("--as", "as_username", metavar="USERNAME",
              help="Act as this account, within its rights (default: the command line, with full rights).")
@with_appcontext
def import_members_command(file, dry_run, as_username):
    """Import members from a CSV or XLSX roster: every row or, if any row is rejected, none."""
    from flask_babel import to_user_timezone

    from .accounts import credentials, permissions, roster
    from .accounts.models import User, utcnow

    _require_schema()
    config = current_app.config
    with open(file, "rb") as fh:
        data = fh.read()
    with dbmod.database.connection_context():
        actor = None
        if as_username:
            actor = User.get_or_none(User.username == as_username.strip().lower())
            if actor is None or not actor.is_active:
                fail(f"Không có tài khoản đang hoạt động tên {as_username}.")
            if not permissions.can(actor, "members.manage"):
                fail(f"Tài khoản {actor.username} không có quyền nhập danh sách đảng viên.")
        now = utcnow()
        try:
            parsed = roster.parse_roster(data, os.path.basename(file), to_user_timezone(now).date(),
                                         config["ROSTER_MAX_ROWS"])
        except DomainError as exc:
            fail(str(exc))
        plan = roster.plan_import(parsed, actor)
        _echo_plan(plan, roster.action_label)
        if plan.rejected:
            fail("\n".join([str(p) for p in plan.problems]
                           + [f"Không nhập gì: {plan.counts['reject']} dòng bị từ chối. Hãy sửa tệp rồi chạy lại."]))
        if dry_run:
            click.echo("Chạy thử (--dry-run): chưa ghi gì vào cơ sở dữ liệu.")
            return
        try:
            result = roster.apply_import(parsed, actor, now, credentials.root(current_app.instance_path),
                                         config["ORGANISATION_NAME"], config["PUBLIC_URL"])
        except roster.ImportRejected as exc:
            _echo_plan(exc.plan, roster.action_label)
            fail("\n".join(str(p) for p in exc.plan.problems))
        except DomainError as exc:
            fail(str(exc))
    counts = result.plan.counts
    click.echo(f"Đã nhập: {counts['create']} tạo mới, {counts['update']} cập nhật, "
               f"{counts['unchanged']} không đổi.")
    if result.sheet_paths:
        click.echo(f"Danh sách tài khoản và mật khẩu ban đầu (giữ kín; hết hạn sau {credentials.LIFETIME.days} ngày):")
        for fmt in ("pdf", "xlsx"):
            if fmt in result.sheet_paths:
                click.echo(f"  {result.sheet_paths[fmt]}")


def _echo_plan(plan, label):
    """The plan as a plain-text table: row, action, name, unit, problems."""
    header = ("Dòng", "Thao tác", "Họ và tên", "Đơn vị", "Vấn đề / thay đổi")
    lines = [(str(r.number), label(r.action), r.full_name, r.unit_label,
              "; ".join(f"{p.column}: {p.message}" if p.column else p.message for p in r.problems)
              or "; ".join(f"{c.column}: {c.old} → {c.new}" for c in r.changes))
             for r in plan.rows]
    widths = [min(40, max(len(x[i]) for x in [header, *lines])) for i in range(4)]
    for line in [header, *lines]:
        click.echo("  ".join(cell[:w].ljust(w) for cell, w in zip(line, widths)) + "  " + line[4])


@click.command("import-questions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--topic", "topic_code", required=True, metavar="CODE", help="The code of the topic to import into.")
@click.option("--format", "fmt", type=click.Choice(["gift", "aiken", "csv", "xlsx"]),
              help="The file's format (default: from its extension; a .txt file is looked into).")
@click.option("--dry-run", is_flag=True, help="Show what the import would do; write nothing.")
@with_appcontext
def import_questions_command(file, topic_code, fmt, dry_run):
    """Import questions into a topic's bank from GIFT, Aiken, CSV or XLSX: all new ones, or none on a problem."""
    from .quiz import bank, parsers

    _require_schema()
    with open(file, "rb") as fh:
        data = fh.read()
    with dbmod.database.connection_context():
        topic = _topic(topic_code)
        try:
            parsed = parsers.parse_file(data, os.path.basename(file), fmt)
        except DomainError as exc:
            fail(str(exc))
        plan = bank.preview_import(topic, parsed)
        _echo_question_plan(plan, bank.action_label)
        if plan.rejected:
            fail("\n".join(plan.problems + [f"Không nhập gì: {plan.counts['reject']} câu hỏi có lỗi. "
                                             "Hãy sửa tệp rồi chạy lại."]))
        if dry_run:
            click.echo("Chạy thử (--dry-run): chưa ghi gì vào cơ sở dữ liệu.")
            return
        try:
            result = bank.apply_import(topic, parsed, None, filename=os.path.basename(file))
        except bank.ImportRejected as exc:
            fail("\n".join(exc.plan.problems))
        except DomainError as exc:
            fail(str(exc))
    counts = result.plan.counts
    click.echo(f"Đã nhập {result.created} câu hỏi vào chuyên đề {topic.code}; bỏ qua {counts['duplicate']} câu "
               f"trùng và {counts['unsupported']} câu thuộc loại không hỗ trợ.")


def _topic(code):
    from .quiz.models import Topic

    topic = Topic.get_or_none(Topic.code == code.strip())
    if topic is None:
        fail(f"Không có chuyên đề mã {code}.")
    return topic


def _echo_question_plan(plan, label):
    """The import plan as a plain-text table: line, action, kind, question, notes."""
    header = ("Dòng", "Thao tác", "Loại", "Câu hỏi", "Ghi chú")
    lines = [(str(r.line), label(r.action), r.kind_label, " ".join(r.text.split()) or "—", "; ".join(r.messages))
             for r in plan.rows]
    widths = [min(cap, max(len(x[i]) for x in [header, *lines])) for i, cap in enumerate((6, 16, 18, 50))]
    for line in [header, *lines]:
        cells = [cell if len(cell) <= w else cell[:w - 1] + "…" for cell, w in zip(line, widths)]
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(cells, widths)) + "  " + line[4])
    counts = plan.counts
    click.echo(f"Tổng cộng: {counts['create']} câu mới, {counts['duplicate']} câu trùng, "
               f"{counts['unsupported']} câu không hỗ trợ, {counts['reject']} câu có lỗi.")


@click.command("export-questions")
@click.option("--topic", "topic_code", required=True, metavar="CODE", help="The code of the topic to export.")
@click.option("--format", "fmt", type=click.Choice(["gift", "xlsx"]),
              help="GIFT (for Moodle or another portal) or XLSX (default: from the output file's extension).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The file to write.")
@with_appcontext
def export_questions_command(topic_code, fmt, output):
    """Export a topic's question bank to a GIFT or XLSX file."""
    from .quiz import bank

    _require_schema()
    if fmt is None:
        ext = os.path.splitext(output)[1].lower()
        fmt = {".gift": "gift", ".txt": "gift", ".xlsx": "xlsx"}.get(ext)
        if fmt is None:
            fail("Hãy chọn --format gift hoặc --format xlsx (hoặc đặt tên tệp đuôi .gift, .txt, .xlsx).")
    with dbmod.database.connection_context():
        topic = _topic(topic_code)
        export = bank.export_gift(topic) if fmt == "gift" else bank.export_xlsx(topic)
    with open(output, "wb") as fh:
        fh.write(export.content)
    click.echo(f"Đã xuất {export.count} câu hỏi của chuyên đề {topic.code} vào {os.path.abspath(output)}.")
    if export.skipped:
        click.echo(f"Không xuất {export.skipped} câu hỏi khảo sát (GIFT và mẫu bảng chỉ chứa câu hỏi "
                   "có đáp án đúng).")


@click.command("finalise-overdue")
@with_appcontext
def finalise_overdue_command():
    """Score every attempt whose time (plus the grace) has run out; run it from cron every minute."""
    from .accounts.models import utcnow
    from .quiz import engine

    _require_schema()
    with dbmod.database.connection_context():
        count = engine.finalise_overdue(utcnow())
    click.echo(f"Đã chấm {count} bài thi quá giờ.")


@click.command("export-results")
@click.option("--round", "round_id", metavar="ID", help="The round to export.")
@click.option("--contest", "contest_id", metavar="ID",
              help="The contest to export (its overall ranking, and every round).")
@click.option("--format", "fmt", metavar="xlsx|csv|pdf", help="Default: from the output file's extension.")
@click.option("-o", "--output", metavar="FILE", help="The file to write.")
@with_appcontext
def export_results_command(round_id, contest_id, fmt, output):
    """Export the results of a round or a contest to an XLSX, CSV or PDF file."""
    from flask_babel import get_timezone

    from .accounts.models import utcnow
    from .contests import exports
    from .contests.models import Contest, Round

    if (round_id is None) == (contest_id is None):
        fail("Hãy chọn đúng một trong hai: --round ID (một vòng thi) hoặc --contest ID (cả hội thi).")
    if not output:
        fail("Hãy cho biết tệp kết quả: -o TÊN_TỆP (ví dụ -o ket-qua.xlsx).")
    raw_id = round_id if round_id is not None else contest_id
    if not raw_id.strip().isdigit():
        fail(f"Mã {'vòng thi' if round_id is not None else 'hội thi'} phải là một số nguyên dương, "
             f"không phải {raw_id!r}.")
    fmt = (fmt or os.path.splitext(output)[1].lstrip(".")).strip().lower()
    if fmt not in exports.FORMATS:
        fail("Định dạng không hợp lệ: hãy chọn --format xlsx, csv hoặc pdf "
             "(hoặc đặt tên tệp đuôi .xlsx, .csv, .pdf).")
    _require_schema()
    target = os.path.abspath(output)
    if not os.path.isdir(os.path.dirname(target)):
        fail(f"Không có thư mục {os.path.dirname(target)}.")
    with dbmod.database.connection_context():
        if round_id is not None:
            subject = Round.get_or_none(Round.id == int(raw_id))
            if subject is None:
                fail(f"Không có vòng thi mã {raw_id}.")
            label = f"vòng {subject.number} của hội thi «{subject.contest.title}»"
        else:
            subject = Contest.get_or_none(Contest.id == int(raw_id))
            if subject is None:
                fail(f"Không có hội thi mã {raw_id}.")
            label = f"hội thi «{subject.title}»"
        partial = target + ".part"
        try:
            with open(partial, "wb") as fh:
                exports.write(subject, fmt, fh, utcnow(), get_timezone())
            os.replace(partial, target)
        except OSError as exc:
            fail(f"Không ghi được tệp: {exc}")
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    click.echo(f"Đã xuất kết quả {label} vào {target}.")


@click.command("issue-certificates")
@click.option("--round", "round_id", metavar="ID", help="The round whose prize winners receive certificates.")
@click.option("--contest", "contest_id", metavar="ID",
              help="The contest whose contest-wide prize winners receive them.")
@click.option("--participation", is_flag=True,
              help="Also a certificate of participation (giấy chứng nhận) for every contestant.")
@with_appcontext
def issue_certificates_command(round_id, contest_id, participation):
    """Issue the certificates of a round's or a contest's published prizes (those already issued are skipped)."""
    from .accounts.models import utcnow
    from .contests import certify
    from .contests.models import Contest, Round

    if (round_id is None) == (contest_id is None):
        fail("Hãy chọn đúng một trong hai: --round ID (một vòng thi) hoặc --contest ID (cả hội thi).")
    raw_id = round_id if round_id is not None else contest_id
    if not raw_id.strip().isdigit():
        fail(f"Mã {'vòng thi' if round_id is not None else 'hội thi'} phải là một số nguyên dương, "
             f"không phải {raw_id!r}.")
    _require_schema()
    public_url = current_app.config["PUBLIC_URL"]
    with dbmod.database.connection_context():
        try:
            if round_id is not None:
                round_ = Round.get_or_none(Round.id == int(raw_id))
                if round_ is None:
                    fail(f"Không có vòng thi mã {raw_id}.")
                label = f"vòng {round_.number} của hội thi «{round_.contest.title}»"
                issued, skipped = certify.issue_for_round(None, round_, utcnow(), public_url, participation)
            else:
                contest = Contest.get_or_none(Contest.id == int(raw_id))
                if contest is None:
                    fail(f"Không có hội thi mã {raw_id}.")
                label = f"hội thi «{contest.title}»"
                issued, skipped = certify.issue_for_contest(None, contest, utcnow(), public_url, participation)
        except DomainError as exc:
            fail(str(exc))
    click.echo(f"Đã cấp {len(issued)} giấy cho {label}; bỏ qua {skipped} giấy đã cấp trước đó.")


@click.command("render-certificates")
@click.option("--round", "round_id", metavar="ID", help="The round whose certificates to render.")
@click.option("--contest", "contest_id", metavar="ID",
              help="The contest whose certificates to render (its rounds' too).")
@click.option("--all-statuses", is_flag=True, help="Also the revoked and replaced ones (default: valid ones only).")
@click.option("-o", "--output", required=True, metavar="OUT.pdf|OUT.zip|DIR",
              help="One print-ready PDF, a ZIP of single PDFs, or a folder of single PDFs.")
@with_appcontext
def render_certificates_command(round_id, contest_id, all_statuses, output):
    """Render the certificates of a round or a contest into one PDF, a ZIP, or a folder of PDFs."""
    from . import jobs
    from .contests.models import Contest, Round

    if (round_id is None) == (contest_id is None):
        fail("Hãy chọn đúng một trong hai: --round ID (một vòng thi) hoặc --contest ID (cả hội thi).")
    raw_id = round_id if round_id is not None else contest_id
    if not raw_id.strip().isdigit():
        fail(f"Mã {'vòng thi' if round_id is not None else 'hội thi'} phải là một số nguyên dương, "
             f"không phải {raw_id!r}.")
    _require_schema()
    target = os.path.abspath(output)
    fmt = os.path.splitext(target)[1].lower().lstrip(".")
    if fmt not in ("pdf", "zip"):
        fmt = "dir"
        if os.path.exists(target) and not os.path.isdir(target):
            fail(f"{target} không phải một thư mục. Hãy đặt tên tệp đuôi .pdf hoặc .zip, hoặc chọn một thư mục.")
    if not os.path.isdir(os.path.dirname(target)):
        fail(f"Không có thư mục {os.path.dirname(target)}.")
    with dbmod.database.connection_context():
        if round_id is not None:
            round_ = Round.get_or_none(Round.id == int(raw_id))
            if round_ is None:
                fail(f"Không có vòng thi mã {raw_id}.")
            prefix = f"contest:{round_.contest_id}/round:{round_.id}/"
            label = f"vòng {round_.number} của hội thi «{round_.contest.title}»"
        else:
            contest = Contest.get_or_none(Contest.id == int(raw_id))
            if contest is None:
                fail(f"Không có hội thi mã {raw_id}.")
            prefix, label = f"contest:{contest.id}/", f"hội thi «{contest.title}»"
        certificates = list(jobs.certificates_by_source(prefix, all_statuses))
        if not certificates:
            which = "nào" if all_statuses else "nào còn hiệu lực"
            fail(f"{label[0].upper() + label[1:]} chưa có giấy khen hay giấy chứng nhận {which}: không có gì để in. "
                 f"Hãy cấp giấy trước (portal issue-certificates --{'round' if round_id else 'contest'} {raw_id}).")
        datas = [c.values for c in certificates]
        processes = current_app.config["JOBS_RENDER_PROCESSES"]
        partial = target + ".part"
        try:
            with click.progressbar(length=len(datas), label="Đang tạo giấy", show_pos=True) as bar:
                def progress(done, total):
                    bar.update(done - bar.pos)

                if fmt == "dir":
                    _render_into_folder(jobs, datas, target, progress, processes)
                else:
                    jobs.write_certificates(datas, fmt, partial, progress, processes)
                    os.replace(partial, target)
        except (OSError, DomainError) as exc:
            fail(f"Không ghi được: {exc}")
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    kinds = [sum(c.kind == kind for c in certificates) for kind in ("merit", "participation")]
    counted = " và ".join(f"{n} {name}" for n, name in zip(kinds, ("giấy khen", "giấy chứng nhận")) if n)
    where = {"pdf": "tệp PDF", "zip": "tệp ZIP", "dir": "thư mục"}[fmt]
    click.echo(f"Đã ghi {counted} của {label} vào {where} {target}.")


def _render_into_folder(jobs, datas, folder, progress, processes):
    """Single PDFs in ``folder``, named as in the ZIP download (rendered as one, then unpacked)."""
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portal-certificates-") as tmp:
        archive = os.path.join(tmp, "certificates.zip")
        jobs.write_certificates(datas, "zip", archive, progress, processes)
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                with zf.open(name) as src, open(os.path.join(folder, os.path.basename(name)), "wb") as dst:
                    shutil.copyfileobj(src, dst)


@click.command("worker")
@click.option("--workers", "-w", type=int, help="Jobs run at once (default JOBS_WORKERS).")
@with_appcontext
def worker_command(workers):
    """Run the background jobs (bulk certificate PDFs) until stopped; `portal serve` starts one by itself."""
    import logging

    from . import jobs

    _require_schema()
    if jobs.huey.immediate:
        fail("Việc nền đang chạy ngay trong từng yêu cầu (TESTING hoặc JOBS_IMMEDIATE): không cần tiến trình này.")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("huey").addHandler(handler)
    logging.getLogger("huey").setLevel(logging.INFO)
    workers = workers or current_app.config["JOBS_WORKERS"]
    url = current_app.config["JOBS_URL"]
    queue = f"Redis {url.split('@')[-1]}" if url else jobs.huey.storage.filename
    click.echo(f"Đang xử lý việc nền (hàng đợi {queue}), {workers} việc cùng lúc (Ctrl+C để dừng).")
    jobs.huey.create_consumer(workers=workers, worker_type="thread").run()


def register(app):
    for command in (init_db_command, demo_command, create_admin_command, backup_command, restore_command,
                    serve_command,
                    import_members_command, import_questions_command, export_questions_command,
                    finalise_overdue_command, export_results_command, issue_certificates_command,
                    render_certificates_command, worker_command):
        app.cli.add_command(command)


if __name__ == "__main__":  # `python -m portal.cli`: how `portal serve` starts its worker
    main()
