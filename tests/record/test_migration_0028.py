"""Migration 0028 drops the three indexes of ``contacts`` that another index or no query already covers, and brings them back down."""

from __future__ import annotations

from tests.record.test_migration_0003 import _down, _to
from tests.record.test_migration_0014 import _indexes

PRUNED = {"ix_contacts_received_at", "ix_contacts_organisation_id", "ix_contacts_primary_concern"}


def test_each_intake_writes_three_indexes_fewer_and_the_source_index_stays(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "0027_export_lists_without_rowid")
    before = _indexes(url)
    assert before >= PRUNED

    _to(url, "0028_contact_indexes_pruned")
    after = _indexes(url)
    assert after == before - PRUNED
    assert {"ix_contacts_source_code", "ix_contacts_received_id", "ix_contacts_org_received_id"} <= after

    _down(url, "0027_export_lists_without_rowid")
    assert _indexes(url) == before
