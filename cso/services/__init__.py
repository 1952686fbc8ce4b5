"""Writes of the CSO domain: each a keyword-only function wrapped in a transaction."""
