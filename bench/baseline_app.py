"""The framework-and-database ceiling: a minimal Flask + Peewee app whose one endpoint does one small insert.

It runs under gunicorn with the options `portal serve` uses (gthread, the same
workers, threads, access log, keep-alive), on a database opened with the
portal's own settings (``portal.db.make_database``: SQLite in WAL mode with
IMMEDIATE write transactions, or PostgreSQL), with a connection per request
as the portal has. What the portal's answer-save and submit reach is measured
against what this reaches on the same machine.

    BASELINE_DATABASE=/tmp/b.db python -m bench.baseline_app --bind 127.0.0.1:5001 --workers 2 --threads 4
"""

import argparse
import datetime as dt
import os
import random

import peewee as pw
from flask import Flask, jsonify

from portal.db import make_database

database = pw.DatabaseProxy()


class Hit(pw.Model):
    created_at = pw.DateTimeField()
    value = pw.IntegerField()

    class Meta:
        database = database
        table_name = "baseline_hit"


def open_database(target):
    """A path (SQLite) or a postgresql:// URL."""
    url = target if "://" in target else f"sqlite:///{os.path.abspath(target)}"
    return make_database(url, os.path.dirname(os.path.abspath(target)) if "://" not in target else None)


def create_app(target=None):
    app = Flask(__name__)
    database.initialize(open_database(target or os.environ["BASELINE_DATABASE"]))

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()

    @app.get("/ready")
    def ready():
        return "ok"

    @app.post("/hit")
    def hit():
        with database.atomic():
            row = Hit.create(created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                             value=random.randrange(1_000_000))
        return jsonify(id=row.id)

    return app


def main():
    from gunicorn.app.base import BaseApplication

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:5001")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    app = create_app()
    with database.connection_context():
        database.create_tables([Hit])
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()  # a pooled connection must not be inherited by the forked workers
    options = {"bind": args.bind, "workers": args.workers, "threads": args.threads, "worker_class": "gthread",
               "accesslog": "-", "timeout": 60, "graceful_timeout": 20, "keepalive": 5}  # as portal/cli.py serve

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Server().run()


if __name__ == "__main__":
    main()
