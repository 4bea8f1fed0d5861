"""The JSON API (flask-smorest blueprints, each with its schemas beside it)."""
