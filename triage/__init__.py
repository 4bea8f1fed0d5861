"""Front door triage: a Flask service for children's social care contacts.

The package is layered; ``docs/architecture.md`` is the page to read first. From the bottom up:
``engine`` (the domain: plain Python, shared with ``training/``), ``record`` (the tables, the
audit chain, the contact's states and shared queries), ``services`` (the use cases),
``reporting`` (reports and exports), ``http`` (what ``api`` and ``web`` share), then the two
edges ``api`` and ``web``, and ``app`` (the factory) on top. The import-linter contract in
``pyproject.toml`` keeps imports pointing down.
"""
