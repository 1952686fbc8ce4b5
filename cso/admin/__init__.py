"""The CSO admin: the catalog CSMs maintain and the contracts they sign for their customers."""

from . import catalog, contracts

__all__ = ["catalog", "contracts"]
