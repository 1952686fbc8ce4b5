"""The CSO part of the REST API: the catalog and customers' contracts, read-only."""
