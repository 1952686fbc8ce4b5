"""The CSO admin: the catalog CSMs maintain and the contracts they sign for their customers."""

from . import billing, catalog, contracts, ledger, schedules

__all__ = ["billing", "catalog", "contracts", "ledger", "schedules"]
