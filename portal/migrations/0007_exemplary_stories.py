"""Pledges: the stories of exemplary models (gương điển hình), with an optional photo."""
# Written in the style of `python -m playhouse.migrations ... generate`; callable defaults live in the models.
from peewee import *


def up(migrator, db):
    class Unit(Model):
        class Meta:
            database = db
            table_name = 'unit'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Asset(Model):
        class Meta:
            database = db
            table_name = 'asset'

    class PledgePeriod(Model):
        class Meta:
            database = db
            table_name = 'pledge_period'

    class Pledge(Model):
        class Meta:
            database = db
            table_name = 'pledge'

    class ExemplaryStory(Model):
        period = ForeignKeyField(PledgePeriod, on_delete='CASCADE')
        pledge = ForeignKeyField(Pledge, on_delete='CASCADE', unique=True)
        unit = ForeignKeyField(Unit, on_delete='RESTRICT')
        name = CharField()
        unit_line = CharField(default='')
        title = CharField()
        story = TextField()
        photo = ForeignKeyField(Asset, null=True, on_delete='SET NULL')
        photo_caption = CharField(default='')
        published = BooleanField(default=False)
        published_at = DateTimeField(null=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        updated_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'exemplary_story'
            indexes = ((('period', 'published'), False),)
    db.create_tables([ExemplaryStory])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('exemplary_story'))
