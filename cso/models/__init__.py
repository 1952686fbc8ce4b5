from .catalog import (
    CatalogVersion,
    Deliverable,
    Entitlement,
    ExpansionPack,
    ExpansionUse,
    Package,
    Program,
    Severity,
)
from .contracts import (
    Contract,
    OverageRate,
    PackageSubscription,
    SubscriptionEntitlement,
    SubscriptionExpansionPack,
)

__all__ = [
    "CatalogVersion",
    "Contract",
    "Deliverable",
    "Entitlement",
    "ExpansionPack",
    "ExpansionUse",
    "OverageRate",
    "Package",
    "PackageSubscription",
    "Program",
    "Severity",
    "SubscriptionEntitlement",
    "SubscriptionExpansionPack",
]
