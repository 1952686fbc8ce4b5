from .catalog import (
    CatalogVersion,
    Deliverable,
    Entitlement,
    EntitlementKind,
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
from .deliverables import Occurrence, OccurrenceReminder
from .expansion import ExpansionScope
from .expenses import TravelExpense
from .ledger import ConsumptionAlert, QuarterClosing, TimeEntry

__all__ = [
    "ConsumptionAlert",
    "ExpansionScope",
    "Occurrence",
    "OccurrenceReminder",
    "QuarterClosing",
    "TimeEntry",
    "TravelExpense",
    "CatalogVersion",
    "Contract",
    "Deliverable",
    "EntitlementKind",
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
