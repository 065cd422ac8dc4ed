"""The admin pages' SVG charts: well-formed, faithful to the data, escaped, accessible."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.admin.charts import (
    NO_DATA,
    PALETTE,
    bar_chart,
    format_value,
    line_chart,
    stacked_bar_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == css_class]


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter() if e.tag in (f"{SVG}text", f"{SVG}title")]


def hover(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None
    return title.text or ""


def test_bar_chart_is_accessible_svg() -> None:
    root = parse(bar_chart("Intent F1", ["greet", "affirm"], {"active": [0.9, 0.8]}))
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Intent F1"
    assert desc is not None and "greet 0.9" in (desc.text or "")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_one_bar_per_data_point_grouped_by_series() -> None:
    labels = ["greet", "affirm", "deny"]
    root = parse(
        bar_chart(
            "F1",
            labels,
            {"active": [0.9, 0.5, 0.0], "candidate": [0.95, None, 0.25]},
            max_value=1,
        )
    )
    bars = by_class(root, "chart-bar")
    assert len(bars) == 5  # six values, one of them missing
    assert {b.get("fill") for b in bars} == {PALETTE[0], PALETTE[1]}
    greet = [b for b in bars if b.get("data-label") == "greet"]
    assert [b.get("data-series") for b in greet] == ["active", "candidate"]
    assert float(greet[0].get("x")) < float(greet[1].get("x"))  # side by side
    assert hover(greet[1]) == "candidate – greet: 0.95"
    zero = [b for b in bars if b.get("data-value") == "0"]
    assert len(zero) == 1 and float(zero[0].get("height")) == 0


def test_bar_heights_are_proportional_to_values() -> None:
    root = parse(bar_chart("Counts", ["a", "b", "c"], {"n": [1, 2, 4]}))
    heights = [float(b.get("height")) for b in by_class(root, "chart-bar")]
    assert heights[0] > 0
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.02)
    assert heights[2] == pytest.approx(4 * heights[0], abs=0.02)
    bottoms = {
        round(float(b.get("y")) + float(b.get("height")), 1) for b in by_class(root, "chart-bar")
    }
    assert len(bottoms) == 1  # all stand on the same axis


def test_fixed_maximum_scales_and_clamps() -> None:
    root = parse(bar_chart("F1", ["a", "b", "c"], {"n": [0.5, 1.0, 1.5]}, max_value=1))
    a, b, c = (float(bar.get("height")) for bar in by_class(root, "chart-bar"))
    assert b == pytest.approx(2 * a, abs=0.02)
    assert c == pytest.approx(b)  # above the maximum: drawn at the top
    assert hover(by_class(root, "chart-bar")[2]).endswith("1.5")  # the true value on hover


def test_gridlines_have_round_tick_labels() -> None:
    root = parse(bar_chart("Handoffs", ["a", "b"], {"n": [3, 7]}))
    ticks = [e.text for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "end"]
    assert ticks == ["0", "2", "4", "6", "8"]
    percent = parse(line_chart("Rate", ["a"], {"n": [50]}, unit="%", max_value=100))
    ticks = [e.text for e in percent.iter(f"{SVG}text") if e.get("text-anchor") == "end"]
    assert ticks == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_labels_and_names_are_escaped() -> None:
    evil = "<script>alert('x')</script>"
    svg = bar_chart(evil, [evil, "b&c"], {evil: [1, 2]}, unit=evil)
    assert "<script>" not in svg
    root = parse(svg)
    assert evil in texts(root)
    assert any("b&c" in t for t in texts(root))
    assert by_class(root, "chart-bar")[0].get("data-series") == evil
    for chart in (line_chart, stacked_bar_chart):
        assert "<script>" not in chart(evil, [evil], {evil: [1]}, unit=evil)
        parse(chart(evil, [evil], {evil: [1]}, unit=evil))


@pytest.mark.parametrize(
    ("labels", "series"),
    [([], {}), ([], {"a": []}), (["a", "b"], {}), (["a", "b"], {"s": [None, None]})],
)
def test_no_data_message(labels: list[str], series: dict) -> None:
    for chart in (bar_chart, line_chart, stacked_bar_chart):
        root = parse(chart("Empty", labels, series))
        assert [e.text for e in by_class(root, "chart-empty")] == [NO_DATA]
        assert not by_class(root, "chart-bar") and not by_class(root, "chart-dot")
        assert root.get("role") == "img"


def test_zeros_are_data_not_empty() -> None:
    root = parse(bar_chart("Zeros", ["a", "b"], {"n": [0, 0]}))
    assert not by_class(root, "chart-empty")
    assert [float(b.get("height")) for b in by_class(root, "chart-bar")] == [0, 0]


def test_single_label() -> None:
    root = parse(bar_chart("One", ["only"], {"a": [3], "b": [1]}, width=300))
    bars = by_class(root, "chart-bar")
    assert len(bars) == 2
    assert all(float(b.get("width")) <= 48 for b in bars)  # not one slab across the chart
    dot = by_class(parse(line_chart("One", ["only"], {"a": [3]})), "chart-dot")
    assert len(dot) == 1


def test_long_labels_are_rotated_and_cut_with_full_text_on_hover() -> None:
    long = "ask_payment_plan_for_overdue_invoice"
    root = parse(bar_chart("F1", [long, "greet"], {"a": [1, 2]}, width=200))
    label = by_class(root, "chart-x-label")[0]
    assert "rotate(-45" in (label.get("transform") or "")
    assert hover(label) == long
    shown = label.find(f"{SVG}title").tail or ""
    assert shown.endswith("…") and len(shown) == 16 and long.startswith(shown[:-1])


def test_many_days_thin_out_the_labels() -> None:
    labels = [f"{d}.1." for d in range(1, 32)] * 3
    root = parse(line_chart("93 days", labels, {"a": [1.0] * 93}))
    assert len(by_class(root, "chart-dot")) == 93
    assert 10 < len(by_class(root, "chart-x-label")) < 93


def test_line_gaps_at_none() -> None:
    values = [1, 2, None, 3, 4, None, 5]
    root = parse(line_chart("Gaps", list("abcdefg"), {"rate": values}))
    dots = by_class(root, "chart-dot")
    assert [d.get("data-label") for d in dots] == ["a", "b", "d", "e", "g"]
    lines = by_class(root, "chart-line")
    assert [len(line.get("points").split()) for line in lines] == [2, 2]  # g is alone: a dot
    assert "c no value" in (root.find(f"{SVG}desc").text or "")


def test_line_dots_are_proportional_and_series_differ_by_dash() -> None:
    root = parse(line_chart("Two", ["a", "b"], {"x": [0, 4], "y": [2, 4]}, max_value=4))
    dots = by_class(root, "chart-dot")
    bottom = float(dots[0].get("cy"))  # x=0 sits on the axis
    top = float(dots[1].get("cy"))
    middle = float(dots[2].get("cy"))
    assert middle == pytest.approx((bottom + top) / 2, abs=0.02)
    dashes = [line.get("stroke-dasharray") for line in by_class(root, "chart-line")]
    assert dashes[0] != dashes[1]


def test_line_chart_with_a_raised_axis_start() -> None:
    root = parse(line_chart("Rating", ["a", "b"], {"r": [1, 5]}, min_value=1, max_value=5))
    ticks = [e.text for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "end"]
    assert ticks == ["1", "2", "3", "4", "5"]


def test_stacked_bars() -> None:
    root = parse(
        stacked_bar_chart(
            "Handoffs",
            ["1.3.", "2.3.", "3.3."],
            {"dispute": [1, 0, 2], "fallback": [3, 0, None]},
        )
    )
    segments = by_class(root, "chart-segment")
    assert len(segments) == 3  # zeros and gaps draw nothing
    first = [s for s in segments if s.get("data-label") == "1.3."]
    dispute, fallback = first
    assert float(fallback.get("height")) == pytest.approx(
        3 * float(dispute.get("height")), abs=0.02
    )
    # stacked: fallback sits on top of dispute
    assert float(fallback.get("y")) + float(fallback.get("height")) == pytest.approx(
        float(dispute.get("y")), abs=0.02
    )
    assert float(dispute.get("x")) == float(fallback.get("x"))
    stacks = by_class(root, "chart-stack")
    assert [hover(s) for s in stacks] == [
        "1.3.: 4 in total",
        "2.3.: 0 in total",
        "3.3.: 2 in total",
    ]


def test_output_is_deterministic_and_ids_differ_between_charts() -> None:
    args = ("Same", ["a", "b"], {"x": [1, 2]})
    assert bar_chart(*args) == bar_chart(*args)
    one = parse(bar_chart(*args)).get("aria-labelledby")
    other = parse(bar_chart("Other", ["a", "b"], {"x": [1, 2]})).get("aria-labelledby")
    assert one != other


def test_series_must_match_the_labels() -> None:
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        bar_chart("Bad", ["a", "b", "c"], {"x": [1, 2]})


def test_legend_names_every_series() -> None:
    names = ["Asked for a person", "Dispute", "Not understood", "Rule stopped the bot"]
    root = parse(stacked_bar_chart("H", ["a"], {n: [1] for n in names}, width=320))
    legend = ["".join(g.itertext()) for g in by_class(root, "chart-legend-item")]
    assert legend == names


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(3, "", "3"), (0.85, "", "0.85"), (200 / 3, "%", "66.67%"), (2.5, " h", "2.5 h")],
)
def test_format_value(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text
