"""Support tickets and their SLA clocks (built on the catalog and contracts)."""
