"""Server-side SVG charts for the admin pages: no JavaScript, no libraries, offline.

The pages embed the returned markup inline, so every text that reaches the SVG
(title, labels, series names, unit) is escaped here, styling is done with
presentation attributes only (a <style> element would leak into the page), and
element ids are derived from the content so the output is deterministic.

Each chart is `role="img"` with a <title> and a <desc> that lists the values, so
a screen reader gets the numbers the picture shows; every bar and dot carries
its value in a <title> (shown on hover). Colours are the Okabe-Ito palette,
readable with the common colour-vision deficiencies; bars get a dark outline and
lines a dash pattern as well, so nothing depends on colour alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

# Okabe-Ito, strongest contrast on white first; yellow last (weak on white).
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
# Lines differ by dash as well as colour.
DASHES = ("", "6 3", "2 3", "8 3 2 3", "12 4", "1 2")
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d9dee3"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
NO_DATA = "No data yet"

TITLE_SIZE = 14
TEXT_SIZE = 11
CHAR_WIDTH = 6.2  # average width of a character at TEXT_SIZE, for layout only
MAX_LABEL_CHARS = 16  # longer axis labels are cut (full text in their <title>)
ROTATED_LABEL_SPACING = 14  # rotated labels closer than this are thinned out
MAX_BAR_WIDTH = 48
MAX_TICKS = 5

Series = Mapping[str, Sequence[float | None]]


@dataclass(frozen=True)
class _Frame:
    """Where the plot area sits inside the SVG and how values map onto it."""

    left: float
    top: float
    right: float
    bottom: float
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def y(self, value: float) -> float:
        """The y coordinate of `value`, clamped to the plot area."""
        share = (value - self.low) / (self.high - self.low)
        return self.bottom - min(max(share, 0.0), 1.0) * self.height

    def band(self, index: int, count: int) -> tuple[float, float]:
        """(x, width) of the slot of label `index` of `count`."""
        width = self.width / count
        return self.left + index * width, width


# --- public charts ----------------------------------------------------------------------


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    unit: str = "",
    max_value: float | None = None,
    width: int = 640,
    height: int = 260,
) -> str:
    """Grouped bars: for each label one bar per series, side by side.

    None (or NaN) is a missing value and draws no bar; zero draws a flat bar.
    """
    clean = _clean(labels, series)
    desc = _describe("Bar chart", labels, clean, unit)
    values = [v for vs in clean.values() for v in vs if v is not None]
    if not values:
        return _empty(title, desc, width, height)
    frame, parts = _axes(title, labels, list(clean), values, unit, max_value, 0.0, width, height)
    parts.extend(_bars(frame, labels, clean, unit))
    return _svg(title, desc, width, height, parts)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    unit: str = "",
    max_value: float | None = None,
    min_value: float = 0.0,
    width: int = 640,
    height: int = 260,
) -> str:
    """Lines with a dot per value; None leaves a gap (a day without data, not a zero)."""
    clean = _clean(labels, series)
    desc = _describe("Line chart", labels, clean, unit)
    values = [v for vs in clean.values() for v in vs if v is not None]
    if not values:
        return _empty(title, desc, width, height)
    frame, parts = _axes(
        title, labels, list(clean), values, unit, max_value, min_value, width, height, lines=True
    )
    for index, (name, points) in enumerate(clean.items()):
        parts.extend(_line(frame, labels, name, points, index, unit))
    return _svg(title, desc, width, height, parts)


def stacked_bar_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    unit: str = "",
    max_value: float | None = None,
    width: int = 640,
    height: int = 260,
) -> str:
    """One bar per label made of the series stacked in order (e.g. handoffs by reason).

    Zero and missing values draw no segment; the scale fits the tallest stack.
    """
    clean = _clean(labels, series)
    desc = _describe("Stacked bar chart", labels, clean, unit)
    totals = [sum(vs[i] or 0.0 for vs in clean.values()) for i in range(len(labels))]
    has_values = any(v is not None for vs in clean.values() for v in vs)
    if not labels or not has_values:
        return _empty(title, desc, width, height)
    frame, parts = _axes(title, labels, list(clean), totals, unit, max_value, 0.0, width, height)
    parts.extend(_stacks(frame, labels, clean, totals, unit))
    return _svg(title, desc, width, height, parts)


# --- data -------------------------------------------------------------------------------


def _clean(labels: Sequence[str], series: Series) -> dict[str, list[float | None]]:
    """The series as lists of finite floats or None; every series must match the labels."""
    clean: dict[str, list[float | None]] = {}
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
        clean[str(name)] = [_finite(v) for v in values]
    return clean


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_value(value: float, unit: str = "") -> str:
    """A value as people read it: 3, 0.85, 66.67 (at most two decimals), then the unit."""
    rounded = round(value, 2)
    if rounded == int(rounded):
        text = str(int(rounded))
    else:
        text = f"{rounded:.2f}".rstrip("0").rstrip(".")
    return text + unit


def _describe(
    kind: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], unit: str
) -> str:
    """The text alternative: every value, so nothing is only in the picture."""
    if not labels or not series:
        return f"{kind}: {NO_DATA.lower()}."
    sentences = [f"{kind} of {', '.join(series)} for {len(labels)} labels."]
    for name, values in series.items():
        items = [
            f"{label} {'no value' if v is None else format_value(v, unit)}"
            for label, v in zip(labels, values, strict=True)
        ]
        sentences.append(f"{name}: {', '.join(items)}.")
    return " ".join(sentences)


def _scale(values: Sequence[float], max_value: float | None, low: float) -> tuple[float, float]:
    """(top of the axis, tick step): a round step, whole numbers for whole-number data."""
    if max_value is not None and max_value <= low:
        raise ValueError(f"max_value {max_value} must be above the axis start {low}")
    top = max_value if max_value is not None else max(max(values, default=0.0), low)
    span = top - low
    if span <= 0:
        span = 1.0
    whole = all(float(v).is_integer() for v in values) and float(low).is_integer()
    step = _nice_step(span, whole)
    if max_value is None:
        top = low + math.ceil(round(span / step, 9)) * step
    return top, step


def _nice_step(span: float, whole: bool) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k giving at most MAX_TICKS steps."""
    exponent = math.floor(math.log10(span / MAX_TICKS))
    for power in (exponent, exponent + 1):
        for base in (1.0, 2.0, 2.5, 5.0):
            step = base * 10**power
            if whole and step < 1:
                continue
            if whole and not step.is_integer():
                continue
            if span / step <= MAX_TICKS + 1e-9:
                return step
    return 10.0 ** (exponent + 1)


# --- drawing ----------------------------------------------------------------------------


def _axes(
    title: str,
    labels: Sequence[str],
    names: Sequence[str],
    values: Sequence[float],
    unit: str,
    max_value: float | None,
    low: float,
    width: int,
    height: int,
    *,
    lines: bool = False,
) -> tuple[_Frame, list[str]]:
    """Title, legend, gridlines with tick labels and the x labels; returns the plot frame."""
    top_value, step = _scale(values, max_value, low)
    ticks = _ticks(low, top_value, step)
    tick_texts = [format_value(t, unit) for t in ticks]
    left = 10 + max(len(t) for t in tick_texts) * CHAR_WIDTH
    legend, legend_bottom = _legend(names, width, lines)
    rotate = _rotate_labels(labels, (width - left - 10) / len(labels))
    longest = min(max(len(label) for label in labels), MAX_LABEL_CHARS)
    below = longest * CHAR_WIDTH * 0.72 + 16 if rotate else 22
    bottom = max(height - below, legend_bottom + 40)
    frame = _Frame(left, legend_bottom + 10, width - 10, bottom, low, top_value)
    parts = [_title_text(title, width), *legend]
    parts.extend(_grid(frame, ticks, tick_texts))
    parts.extend(_x_labels(frame, labels, rotate))
    return frame, parts


def _ticks(low: float, high: float, step: float) -> list[float]:
    count = int(math.floor(round((high - low) / step, 9)))
    ticks = [round(low + i * step, 9) for i in range(count + 1)]
    if ticks[-1] < high - 1e-9:
        ticks.append(high)  # a fixed maximum off the step still gets its line
    return ticks


def _title_text(title: str, width: int) -> str:
    return (
        f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-size="{TITLE_SIZE}" '
        f'font-weight="600" fill="{INK}">{escape(title)}</text>'
    )


def _legend(names: Sequence[str], width: int, lines: bool) -> tuple[list[str], float]:
    """One swatch and name per series, wrapped into rows; returns (parts, bottom y)."""
    parts: list[str] = []
    x, y = 10.0, 40.0
    for index, name in enumerate(names):
        shown = _truncate(name, 28)
        item_width = 22 + len(shown) * CHAR_WIDTH + 16
        if x > 10 and x + item_width > width - 10:
            x, y = 10.0, y + 18
        colour = _colour(index)
        if lines:
            dash = _dash_attr(index)
            swatch = (
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 16:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
        else:
            swatch = (
                f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}" '
                f'stroke="{INK}" stroke-width="0.75"/>'
            )
        parts.append(
            f'<g class="chart-legend-item">{swatch}<text x="{x + 22:.1f}" y="{y:.1f}" '
            f'font-size="{TEXT_SIZE}" fill="{INK}">{_label_body(name, shown)}</text></g>'
        )
        x += item_width
    return parts, (y + 6 if names else 28.0)


def _grid(frame: _Frame, ticks: Sequence[float], texts: Sequence[str]) -> list[str]:
    parts = []
    for tick, text in zip(ticks, texts, strict=True):
        y = frame.y(tick)
        parts.append(
            f'<line x1="{frame.left:.1f}" y1="{y:.2f}" x2="{frame.right:.1f}" y2="{y:.2f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{frame.left - 6:.1f}" y="{y + 4:.2f}" text-anchor="end" '
            f'font-size="{TEXT_SIZE}" fill="{MUTED}">{escape(text)}</text>'
        )
    parts.append(
        f'<line x1="{frame.left:.1f}" y1="{frame.bottom:.2f}" x2="{frame.right:.1f}" '
        f'y2="{frame.bottom:.2f}" stroke="{MUTED}" stroke-width="1"/>'
    )
    return parts


def _rotate_labels(labels: Sequence[str], band: float) -> bool:
    """Rotate when some label does not fit its slot lying flat."""
    return any(len(label) * CHAR_WIDTH > band - 4 for label in labels)


def _x_labels(frame: _Frame, labels: Sequence[str], rotate: bool) -> list[str]:
    """Labels under the slots; rotated ones are cut and thinned out when slots are narrow."""
    count = len(labels)
    every = max(1, math.ceil(ROTATED_LABEL_SPACING / (frame.width / count))) if rotate else 1
    parts = []
    for index, label in enumerate(labels):
        if index % every:
            continue
        x, band = frame.band(index, count)
        centre = x + band / 2
        y = frame.bottom + 14
        shown = _truncate(label, MAX_LABEL_CHARS) if rotate else label
        if rotate:
            position = (
                f'x="{centre:.2f}" y="{y:.2f}" text-anchor="end" '
                f'transform="rotate(-45 {centre:.2f} {y:.2f})"'
            )
        else:
            position = f'x="{centre:.2f}" y="{y:.2f}" text-anchor="middle"'
        parts.append(
            f'<text class="chart-x-label" {position} font-size="{TEXT_SIZE}" '
            f'fill="{MUTED}">{_label_body(label, shown)}</text>'
        )
    return parts


def _bars(
    frame: _Frame, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], unit: str
) -> list[str]:
    count, groups = len(labels), len(series)
    parts = []
    for index, label in enumerate(labels):
        x, band = frame.band(index, count)
        bar_width = min(band * 0.8 / groups, MAX_BAR_WIDTH)
        start = x + (band - bar_width * groups) / 2
        for position, (name, values) in enumerate(series.items()):
            value = values[index]
            if value is None:
                continue
            y = frame.y(max(value, frame.low))
            parts.append(
                _rect(
                    "chart-bar",
                    start + position * bar_width,
                    y,
                    bar_width,
                    frame.bottom - y,
                    position,
                    name,
                    label,
                    value,
                    unit,
                )
            )
    return parts


def _stacks(
    frame: _Frame,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    totals: Sequence[float],
    unit: str,
) -> list[str]:
    count = len(labels)
    parts = []
    for index, label in enumerate(labels):
        x, band = frame.band(index, count)
        bar_width = min(band * 0.7, MAX_BAR_WIDTH)
        left = x + (band - bar_width) / 2
        base = 0.0
        segments = []
        for position, (name, values) in enumerate(series.items()):
            value = values[index]
            if value is None or value <= 0:
                continue
            y_top, y_base = frame.y(base + value), frame.y(base)
            segments.append(
                _rect(
                    "chart-segment",
                    left,
                    y_top,
                    bar_width,
                    y_base - y_top,
                    position,
                    name,
                    label,
                    value,
                    unit,
                )
            )
            base += value
        total = f"{label}: {format_value(totals[index], unit)} in total"
        parts.append(
            f'<g class="chart-stack"><title>{escape(total)}</title>{"".join(segments)}</g>'
        )
    return parts


def _rect(
    css_class: str,
    x: float,
    y: float,
    width: float,
    height: float,
    position: int,
    name: str,
    label: str,
    value: float,
    unit: str,
) -> str:
    hover = f"{name} – {label}: {format_value(value, unit)}"
    return (
        f'<rect class="{css_class}" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" '
        f'height="{max(height, 0.0):.2f}" fill="{_colour(position)}" stroke="{INK}" '
        f'stroke-width="0.75" data-series="{escape(name)}" data-label="{escape(label)}" '
        f'data-value="{format_value(value)}"><title>{escape(hover)}</title></rect>'
    )


def _line(
    frame: _Frame,
    labels: Sequence[str],
    name: str,
    values: Sequence[float | None],
    position: int,
    unit: str,
) -> list[str]:
    """A polyline per run of values between gaps, and a dot per value."""
    colour = _colour(position)
    points: list[tuple[float, float] | None] = []
    dots = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is None:
            points.append(None)
            continue
        x, band = frame.band(index, len(labels))
        point = (x + band / 2, frame.y(value))
        points.append(point)
        hover = f"{name} – {label}: {format_value(value, unit)}"
        dots.append(
            f'<circle class="chart-dot" cx="{point[0]:.2f}" cy="{point[1]:.2f}" r="3.5" '
            f'fill="{colour}" stroke="#ffffff" stroke-width="1.5" data-series="{escape(name)}" '
            f'data-label="{escape(label)}" data-value="{format_value(value)}">'
            f"<title>{escape(hover)}</title></circle>"
        )
    runs = [
        f'<polyline class="chart-line" points="{" ".join(f"{x:.2f},{y:.2f}" for x, y in run)}" '
        f'fill="none" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round"'
        f'{_dash_attr(position)} data-series="{escape(name)}"/>'
        for run in _runs(points)
        if len(run) > 1
    ]
    return runs + dots


def _runs(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Consecutive points split at the gaps (None)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _colour(position: int) -> str:
    return PALETTE[position % len(PALETTE)]


def _dash_attr(position: int) -> str:
    dash = DASHES[position % len(DASHES)]
    return f' stroke-dasharray="{dash}"' if dash else ""


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label_body(full: str, shown: str) -> str:
    """Text content; a cut label keeps its full text in a <title> (hover, screen readers)."""
    if shown == full:
        return escape(full)
    return f"<title>{escape(full)}</title>{escape(shown)}"


# --- the document -----------------------------------------------------------------------


def _chart_id(title: str, desc: str, width: int, height: int) -> str:
    """Ids from the content: deterministic, and distinct for different charts on a page."""
    digest = hashlib.sha1(f"{title}\n{desc}\n{width}x{height}".encode()).hexdigest()
    return f"chart-{digest[:12]}"


def _svg(title: str, desc: str, width: int, height: int, parts: Sequence[str]) -> str:
    chart_id = _chart_id(title, desc, width, height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{escape(FONT)}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        f"{''.join(parts)}</svg>"
    )


def _empty(title: str, desc: str, width: int, height: int) -> str:
    message = (
        f'<text class="chart-empty" x="{width / 2:.1f}" y="{height / 2:.1f}" '
        f'text-anchor="middle" font-size="{TITLE_SIZE}" fill="{MUTED}">{NO_DATA}</text>'
    )
    return _svg(title, desc, width, height, [_title_text(title, width), message])
