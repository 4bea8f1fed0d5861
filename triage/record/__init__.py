"""The record: the tables, the hash-chained audit events, the contact's states and the queries
more than one use case needs. Never updated in place where the spec says so."""
