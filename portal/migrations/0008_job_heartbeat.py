"""Jobs: a heartbeat and a count of tries, so a job whose worker died is queued again."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('job', 'heartbeat_at', DateTimeField(null=True)),
        migrator.add_column('job', 'tries', SmallIntegerField(default=0)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('job', 'heartbeat_at'),
        migrator.drop_column('job', 'tries'),
    )
