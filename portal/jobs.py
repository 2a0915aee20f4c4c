"""Background work (bulk certificate PDFs, large exports) with progress.

The records live in the database so that any app host can show a job's progress and serve its
result, whichever worker ran it: ``Job`` (state, progress) and ``JobChunk`` (the result file,
in pieces of at most a megabyte so it streams in bounded memory).
"""

import json

import peewee as pw

from .accounts.models import Unit, User, utcnow
from .db import BaseModel, NFCCharField, NFCTextField


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
