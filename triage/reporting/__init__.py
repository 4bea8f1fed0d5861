"""Reports and exports: partner reports, the management dashboard, Ofsted Annex A lists and the
training export, computed from the record."""
