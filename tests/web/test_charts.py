"""The explanation chart (``triage.charts``): accessible SVG, largest reasons first, nothing hidden."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from triage.web.charts import explanation_chart, rows_from, signed

SVG = "{http://www.w3.org/2000/svg}"
EXPLANATION = {"intercept": -1.0, "contributions": [
    {"feature": "a", "label": "Small push", "value": 1, "contribution": 0.1},
    {"feature": "b", "label": "Big push", "value": True, "contribution": 1.2},
    {"feature": "c", "label": "Holds back", "value": None, "contribution": -0.5},
]}


def test_rows_are_largest_first_whatever_the_sign():
    assert [r.label for r in rows_from(EXPLANATION)] == ["Big push", "Holds back", "Small push"]
    assert [r.value for r in rows_from(EXPLANATION)] == ["yes", "not known (a question for the checks, not a reason)", "1"]


def test_beyond_the_limit_the_rest_are_summed_into_one_row_so_the_total_is_kept():
    many = {"contributions": [{"label": f"r{i}", "contribution": 0.1 * (i + 1)} for i in range(15)]}
    rows = rows_from(many, max_rows=5)
    assert len(rows) == 5 and rows[-1].label == "11 other smaller reasons together"
    assert abs(sum(r.contribution for r in rows) - sum(0.1 * (i + 1) for i in range(15))) < 1e-9


def test_the_svg_is_an_image_with_a_title_and_a_description_in_words():
    chart = explanation_chart(EXPLANATION, subject="level 3 (Child in need)", chart_id="x")
    root = ET.fromstring(chart.svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "x-title x-desc"
    assert root.find(f"{SVG}title").text == "Reasons behind the score for level 3 (Child in need)"
    desc = root.find(f"{SVG}desc").text
    assert "Raised most by: Big push (+1.20)" in desc and "Lowered most by: Holds back (\u22120.50)" in desc
    assert len(root.findall(f"{SVG}rect")) == 3


def test_every_bar_carries_its_signed_number_so_colour_is_not_the_only_signal():
    texts = [t.text for t in ET.fromstring(explanation_chart(EXPLANATION, subject="s").svg).iter(f"{SVG}text")]
    assert {"+1.20", "\u22120.50", "+0.10"} <= set(texts)


def test_raising_bars_go_right_of_zero_and_lowering_bars_left():
    root = ET.fromstring(explanation_chart(EXPLANATION, subject="s").svg)
    zero = float(root.find(f"{SVG}line").get("x1"))
    big, back, _small = root.findall(f"{SVG}rect")
    assert float(big.get("x")) == zero
    assert float(back.get("x")) + float(back.get("width")) == zero


def test_labels_are_escaped_and_the_total_adds_up():
    chart = explanation_chart({"intercept": 0.5, "contributions": [
        {"label": "<script>alert(1)</script>", "contribution": 0.25}]}, subject="s")
    assert "<script>" not in chart.svg
    assert chart.total == 0.75 and chart.intercept == 0.5


def test_nothing_to_draw_gives_no_chart():
    assert explanation_chart(None, subject="s") is None
    assert explanation_chart({"contributions": []}, subject="s") is None


def test_signed_uses_a_real_minus_sign():
    assert (signed(0.42), signed(-0.31), signed(0.0)) == ("+0.42", "\u22120.31", "0.00")
