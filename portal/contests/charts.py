"""The geometry of the statistics charts, drawn by the templates as inline SVG.

The page's CSP forbids scripts and style attributes, so the charts are plain
SVG with presentation attributes. Horizontal positions are percentages of the
chart's width and vertical ones pixels: the chart fills any screen (or page)
width while its text keeps its size. The template formats the numbers.
"""

import dataclasses
import math

NAME_LENGTH = 42  # longer unit names are shortened in the chart (the table has them whole)


@dataclasses.dataclass
class Bar:
    label: str
    full_label: str
    value: float  # a share (1.0 = 100%), or None when it cannot be computed
    y: int
    width: float = 0.0  # percent of the chart's width
    over: bool = False  # more than 100%


@dataclasses.dataclass
class HorizontalBars:
    bars: list
    height: int
    scale: float  # the share drawn at the full width (at least 1.0)
    reference: float = None  # where 100% is, in percent of the width, when the scale goes beyond it
    row_height: int = 40


def shorten(name, length=NAME_LENGTH):
    return name if len(name) <= length else name[:length - 1].rstrip() + "…"


def rate_bars(rows):
    """One bar per row: its participation rate, scaled so that the highest (or 100%) fills the width."""
    rates = [r.rate for r in rows if r.rate is not None]
    scale = max([1.0] + rates)
    chart = HorizontalBars(bars=[], height=0, scale=scale,
                           reference=100 / scale if scale > 1.0 else None)
    for i, row in enumerate(rows):
        chart.bars.append(Bar(label=shorten(row.name), full_label=row.name, value=row.rate, y=i * chart.row_height,
                              width=round(100 * (row.rate or 0) / scale, 2), over=row.over_declared))
    chart.height = len(rows) * chart.row_height
    return chart


@dataclasses.dataclass
class Column:
    label: str  # shown under the column when ``show_label``
    value: int
    x: float  # percent of the width
    width: float
    y: float  # px from the top
    height: float
    show_label: bool = True
    highlight: bool = False


@dataclasses.dataclass
class Columns:
    columns: list
    grid: list  # [(y px, value)] horizontal lines with their value
    top: int  # the value at the top of the plot
    height: int
    plot_top: int
    plot_bottom: int
    show_values: bool  # the value above each column (few columns)


NICE_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


def nice_ceiling(value):
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) at or above ``value``, at least 1."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in NICE_STEPS:
        if step * power >= value:
            top = step * power
            return int(top) if top == int(top) else top
    return 10 * power


def columns(values, labels, highlight=(), max_labels=8, plot_height=150):
    """Columns for ``values`` with their ``labels`` (every n-th shown when there are many)."""
    plot_top, plot_bottom = 22, 22 + plot_height
    top = nice_ceiling(max(values, default=0))
    n = max(len(values), 1)
    every = max(1, math.ceil(len(values) / max_labels))
    slot = 100 / n
    cols = []
    for i, (value, label) in enumerate(zip(values, labels)):
        h = plot_height * value / top
        cols.append(Column(label=label, value=value, x=round(i * slot + slot * 0.12, 3),
                           width=round(slot * 0.76, 3), y=round(plot_bottom - h, 1), height=round(h, 1),
                           show_label=(i % every == 0), highlight=i in highlight))
    show_values = len(values) <= 14  # few columns: each carries its value, no grid needed
    grid = [(plot_top, top), (plot_top + plot_height / 2, top / 2)] if values and not show_values else []
    return Columns(columns=cols, grid=grid, top=top, height=plot_bottom + 24, plot_top=plot_top,
                   plot_bottom=plot_bottom, show_values=show_values)


def histogram_chart(histogram):
    labels = [f"{10 * i}" for i in range(len(histogram) - 1)] + ["100"]
    return columns(histogram, labels, highlight={len(histogram) - 1}, max_labels=11)


def days_chart(days):
    return columns([n for _day, n in days], [d.strftime("%d/%m") for d, _n in days], max_labels=7)
