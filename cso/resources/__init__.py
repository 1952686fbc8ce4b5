"""Import and export of the hour bank (django-import-export): time entries in, overage out."""

from .overage import OverageResource
from .time_entries import TimeEntryResource

__all__ = ["OverageResource", "TimeEntryResource"]
