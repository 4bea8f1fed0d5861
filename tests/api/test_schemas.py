"""Answer schemas that do more than marshmallow's own fields (``triage/api/schemas.py``)."""

from __future__ import annotations

from decimal import Decimal

from triage.api.schemas import DayCountSchema


def test_counts_by_code_are_answered_as_integers_keyed_by_code():
    day = DayCountSchema().dump({"date": "2026-12-01", "total": 3, "by_source": {"2A": Decimal(2), "6": 1}})

    assert day["by_source"] == {"2A": 2, "6": 1}
    assert all(type(count) is int for count in day["by_source"].values())  # a PostgreSQL SUM is a Decimal


def test_counts_by_code_keep_their_order_and_an_absent_dict_stays_absent():
    assert list(DayCountSchema().dump({"by_source": {"6": 5, "2A": 9}})["by_source"]) == ["6", "2A"]
    assert DayCountSchema().dump({"by_source": None})["by_source"] is None


def test_counts_by_code_are_documented_as_a_dict_of_integers(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    day = schemas[next(name for name in schemas if name.startswith("DayCount"))]

    assert day["properties"]["by_source"]["type"] == "object"
    assert day["properties"]["by_source"]["additionalProperties"] == {"type": "integer"}


def test_rows_answered_as_built_are_documented_as_their_schema(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    per_day = schemas[next(name for name in schemas if name.startswith("PerDay"))]

    assert per_day["properties"]["days"]["type"] == "array"
    assert per_day["properties"]["days"]["items"]["$ref"].split("/")[-1].startswith("DayCount")
