"""What the JSON API and the pages share at the HTTP edge: problem documents, the access
policy, request-argument parsing (``args``), the loaded guidance (``current``) and file
downloads (``downloads``). ``api`` and ``web`` import this, never each other."""
