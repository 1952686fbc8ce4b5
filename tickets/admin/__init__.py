"""The support desk in the admin: tickets, SLA policies and the attainment report."""

from tickets.admin import attainment, policies, tickets  # noqa: F401
