"""Every CSV the service writes is safe to open in a spreadsheet (OWASP: CSV injection).

A cell a spreadsheet would read as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage
return) is written with a single quote in front, so it shows as the text the partner sent.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.reporting.test_reports import police_report
from triage.reporting import exports, reports
from triage.reporting.spreadsheet import neutralise, to_csv

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_is_prefixed_with_a_quote(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["C-00001", "Police", "", "a=b", "1.5", " =1", 3, 0, None])
def test_other_cells_are_left_alone(value):
    assert neutralise(value) == value


def test_numbers_stay_numbers_even_when_negative():
    assert neutralise(-3) == -3 and neutralise(-1.5) == -1.5


def test_to_csv_neutralises_every_cell_headings_included():
    rows = list(csv.reader(io.StringIO(to_csv(["=h"], [[FORMULAS[0]], ["ok"]]))))
    assert rows == [["'=h"], ["'" + FORMULAS[0]], ["ok"]]


def test_annex_a_list_1_does_not_carry_a_live_formula():
    from tests.reporting.test_exports import END, START, at, confirmed, kid

    poisoned = confirmed("c1", at(11, 10), 3, kid(FORMULAS[0]))
    text = exports.to_csv(exports.LIST_1_HEADINGS, exports.list_1_rows([poisoned], START, END))
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + FORMULAS[0] in cells
    assert not any(cell[:1] in "=+-@\t\r" and cell for cell in cells)


def test_the_partner_report_csv_does_not_carry_a_live_formula():
    report = police_report()
    report["organisation"] = {**report["organisation"], "name": "=cmd|' /C calc'!A0"}
    report["team"] = "@team"
    rows = dict(csv.reader(io.StringIO(reports.partner_report_csv(report))))
    assert rows["Organisation"] == "'=cmd|' /C calc'!A0" and rows["Team"] == "'@team"
