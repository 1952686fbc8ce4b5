"""The accounts part of the REST API: organizations, the signed-in user and API tokens."""
