"""Figures a test measured (fuzz requests, kills, contacts acknowledged and stored), printed by
``tests/conftest.py`` at the end of the run so ``make test`` shows them beside the counts."""

from __future__ import annotations

#: name -> one line, overwritten as a test goes on; the last value is printed.
FIGURES: dict[str, str] = {}
