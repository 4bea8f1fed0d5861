"""The guidance version label (checked like the rest of the file) and the readable diff (issue 16)."""

from __future__ import annotations

import hashlib

import pytest

from tests.guidance_cases import DEFAULT_THRESHOLDS
from triage.engine.guidance import GuidanceConfigError, load_guidance
from triage.engine.guidance_version import readable_diff

SOURCE = DEFAULT_THRESHOLDS.read_text(encoding="utf-8")
LABEL = 'guidance_version: "2026.1"'


def test_the_loaded_guidance_carries_its_label_hash_and_text():
    config = load_guidance(DEFAULT_THRESHOLDS).config
    assert config.label == "2026.1"
    assert config.sha256 == hashlib.sha256(DEFAULT_THRESHOLDS.read_bytes()).hexdigest()
    assert config.text == SOURCE


@pytest.mark.parametrize(("new", "words"), [
    ("", "guidance_version: it is missing"),
    ("guidance_version: 2026.1", "label in quotes"),  # a YAML number: 2026.10 would read as 2026.1
    ('guidance_version: ""', "label in quotes"),
    ('guidance_version: "-draft"', "starting with a letter or digit"),
    ('guidance_version: "' + "x" * 61 + '"', "up to 60"),
])
def test_a_missing_or_bad_label_stops_start_up_with_one_line(tmp_path, new, words):
    path = tmp_path / "thresholds.yaml"
    path.write_text(SOURCE.replace(LABEL, new, 1), encoding="utf-8")
    with pytest.raises(GuidanceConfigError) as caught:
        load_guidance(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}, line ")
    assert words in message


def test_the_diff_shows_what_changed_with_line_numbers_and_skips_the_rest():
    old = "\n".join(f"line {i}" for i in range(1, 21))
    new = old.replace("line 10", "line ten").replace("line 20", "line 20\nline 21")
    diff = readable_diff(old, new)
    kinds = [(d.kind, d.old_line, d.new_line, d.text) for d in diff]
    assert ("removed", 10, None, "line 10") in kinds and ("added", None, 10, "line ten") in kinds
    assert ("added", None, 21, "line 21") in kinds
    assert kinds[0] == ("gap", None, None, "7 unchanged lines")
    assert ("same", 8, 8, "line 8") in kinds
    assert sum(1 for d in diff if d.kind == "gap") == 2
    assert readable_diff(old, old) == []
