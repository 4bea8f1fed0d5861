"""The canonical JSON text the record hashes, and the text every JSON column is stored as.

The record hashes canonical JSON (keys sorted, no spaces, characters as they are). Storing the
JSON columns in that same text (the engine's ``json_serializer``, set in ``triage.app``) lets the
verification hash what is stored as it stands, instead of decoding and re-encoding every event
and every contact's 11 KB recommendation; rows stored before (or stored otherwise) are still
decoded and re-encoded, so they verify exactly as before (``audit._Walk``, ``audit._contents``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def canonical_json(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """The one canonical JSON text of a value (what the record's hashes and digests are taken over)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)


def storage_json(value: Any) -> str:
    """How a JSON column is written: its canonical text where it has one, else Python's default text.

    The exceptions keep what stored before still storable: keys that cannot be sorted together
    (numbers beside text) and lone surrogates (not UTF-8) are written as ``json.dumps`` writes them;
    such rows simply take the verification's slower path.
    """
    try:
        text = canonical_json(value)
        text.encode()
    except (TypeError, UnicodeEncodeError):
        return json.dumps(value)
    return text
