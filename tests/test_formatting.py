"""What members read: dates dd/mm/yyyy, times in Vietnam, numbers 40.000 and 97,5%."""

import datetime as dt

import pytest
from flask import render_template_string

from portal.formatting import format_date_vi, format_datetime_vi, format_number_vi, format_percent_vi


@pytest.fixture
def backend():
    """Formatting does not depend on the database: SQLite only."""
    return "sqlite"


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def test_dates_are_day_month_year(ctx):
    assert format_date_vi(dt.date(1980, 2, 3)) == "03/02/1980"
    assert format_date_vi(dt.datetime(2026, 12, 31, 23, 59)) == "31/12/2026"
    assert format_date_vi(None) == ""


def test_times_are_shown_in_vietnam(ctx):
    stored_utc = dt.datetime(2026, 3, 1, 17, 30)  # 00:30 on 2 March in Hà Nội
    assert format_datetime_vi(stored_utc) == "00:30 02/03/2026"
    aware = dt.datetime(2026, 3, 1, 1, 5, tzinfo=dt.timezone.utc)
    assert format_datetime_vi(aware) == "08:05 01/03/2026"
    assert format_datetime_vi(None) == ""


def test_numbers_use_vietnamese_separators(ctx):
    assert format_number_vi(40000) == "40.000"
    assert format_number_vi(1234567) == "1.234.567"
    assert format_number_vi(2.5, digits=1) == "2,5"
    assert format_number_vi(None) == ""


def test_percentages_use_a_decimal_comma(ctx):
    assert format_percent_vi(0.975) == "97,5%"
    assert format_percent_vi(1) == "100,0%"
    assert format_percent_vi(0.4, digits=0) == "40%"


def test_templates_have_the_filters(ctx):
    page = render_template_string(
        "{{ d|date }} | {{ t|datetime }} | {{ n|number }} | {{ p|percent }} | "
        "{{ 'female'|gender }} {{ 'male'|gender }}",
        d=dt.date(2026, 5, 19), t=dt.datetime(2026, 5, 19, 1, 0), n=40000, p=0.975)
    assert page == "19/05/2026 | 08:00 19/05/2026 | 40.000 | 97,5% | Nữ Nam"


def test_an_excerpt_quotes_a_short_value_whole_and_a_long_one_cut_with_an_ellipsis():
    from portal.formatting import excerpt

    assert excerpt("0912 345 678") == "0912 345 678"
    assert excerpt("  Nguyễn\n  Văn   An ") == "Nguyễn Văn An"
    long = "Đảng viên " * 30
    cut = excerpt(long)
    assert len(cut) <= 80 and cut.endswith("…") and long.startswith(cut[:-1])
