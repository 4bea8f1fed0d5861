"""Versions of the threshold guidance (issue 16): the one a contact was scored under, and what changed.

The service keeps every version of ``config/thresholds.yaml`` it has served (its label, SHA-256 and
text; ``triage.services.guidance_versions``). This module is the plain-Python half: rebuilding a
``Guidance`` from a stored text (checked exactly as at start-up, so a stored text that no longer
reads is named, not half-used), and a readable line-by-line difference between two versions for
the page that lists them.

Plain Python, no Flask or database.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from triage.engine.guidance import Guidance
from triage.engine.guidance_config import GuidanceConfigError, parse_guidance_text

__all__ = ["DiffLine", "GuidanceConfigError", "guidance_from_text", "readable_diff", "sha256_text"]

CONTEXT_LINES = 2


def sha256_text(text: str) -> str:
    """The SHA-256 of a guidance text as stored (UTF-8), which is the file's own ``sha256sum``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def guidance_from_text(text: str, source: str, expected_sha256: str | None = None) -> Guidance:
    """The guidance a stored or uploaded text says, checked as at start-up.

    ``expected_sha256``: the hash the text was stored under; a text that no longer matches it has
    been altered, and is refused rather than used to explain a contact.
    """
    if expected_sha256 is not None and sha256_text(text) != expected_sha256:
        raise GuidanceConfigError(f"{source}: the stored text does not match its SHA-256; it has been altered")
    return _parsed(text, source)


@lru_cache(maxsize=32)
def _parsed(text: str, source: str) -> Guidance:
    return Guidance(parse_guidance_text(text, source))


@dataclass(frozen=True)
class DiffLine:
    """One line of the difference: ``kind`` is "same", "removed", "added" or "gap" (lines skipped)."""

    kind: str
    old_line: int | None
    new_line: int | None
    text: str


def readable_diff(old_text: str, new_text: str, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """What changed from ``old_text`` to ``new_text``, line by line, with a little unchanged text around it.

    Empty when the texts are the same. Unchanged stretches longer than the context are one "gap"
    line saying how many lines were left out.
    """
    old, new = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    out: list[DiffLine] = []
    done = 0  # old lines accounted for so far
    for group in matcher.get_grouped_opcodes(context):
        skipped = group[0][1] - done
        if skipped > 0:
            out.append(DiffLine("gap", None, None, f"{skipped} unchanged line{'s' if skipped != 1 else ''}"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(DiffLine("same", i + 1, j1 + (i - i1) + 1, old[i]) for i in range(i1, i2))
                continue
            if tag in ("replace", "delete"):
                out.extend(DiffLine("removed", i + 1, None, old[i]) for i in range(i1, i2))
            if tag in ("replace", "insert"):
                out.extend(DiffLine("added", None, j + 1, new[j]) for j in range(j1, j2))
        done = group[-1][2]
    if out and len(old) > done:
        skipped = len(old) - done
        out.append(DiffLine("gap", None, None, f"{skipped} unchanged line{'s' if skipped != 1 else ''}"))
    return out
