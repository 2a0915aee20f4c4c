"""Vietnamese display of dates and numbers: dd/mm/yyyy, 40.000, 97,5%."""

import datetime as dt

from flask_babel import format_datetime, format_decimal, format_percent

GENDER_LABELS = {"male": "Nam", "female": "Nữ"}


def format_date_vi(value):
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.strftime("%d/%m/%Y")


def format_datetime_vi(value):
    """A stored UTC time shown in the portal's time zone, 'HH:mm dd/MM/yyyy'."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return format_datetime(value, "HH:mm dd/MM/yyyy")


def format_number_vi(value, digits=None):
    if value is None:
        return ""
    if digits is not None:
        return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    return format_decimal(value)


def format_percent_vi(value, digits=1):
    if value is None:
        return ""
    return format_percent(value, format="#,##0." + "0" * digits + "%" if digits else "#,##0%")


def init_app(app):
    app.jinja_env.filters["date"] = format_date_vi
    app.jinja_env.filters["datetime"] = format_datetime_vi
    app.jinja_env.filters["number"] = format_number_vi
    app.jinja_env.filters["percent"] = format_percent_vi
    app.jinja_env.filters["gender"] = lambda g: GENDER_LABELS.get(g, "")
