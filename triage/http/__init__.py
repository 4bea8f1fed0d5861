"""What the JSON API and the pages share at the HTTP edge: problem documents, the access
policy and request-argument parsing. ``api`` and ``web`` import this, never each other."""
