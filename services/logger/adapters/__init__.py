"""Adapters: the code that talks to the outside (HTTP APIs, Redis, PostgreSQL)."""
