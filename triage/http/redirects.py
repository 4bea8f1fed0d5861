"""Where a page may send someone after signing in: only somewhere on this site.

One check for every redirect target taken from a request (``?next=``). Browsers are forgiving
readers of a Location header: they drop tabs and newlines (``/\\t/evil.example`` becomes
``//evil.example``, another site), treat ``\\`` as ``/``, and a newline in a header is a 500 from
the server. So the rule is an allow-list, not a list of tricks: a target is kept only if it is
printable ASCII with no spaces, starts with exactly one ``/``, and parses with neither a scheme
nor a host. Anything else, the caller uses its own default.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Longer than any page address this service makes; a longer target is not one of ours.
MAX_TARGET = 2000
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None``."""
    if not target or len(target) > MAX_TARGET or not _PRINTABLE_ASCII.fullmatch(target):
        return None
    if not target.startswith("/") or target[1:2] in ("/", "\\") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
