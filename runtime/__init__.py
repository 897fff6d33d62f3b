"""Shared runtime plumbing for the services: settings base, Kafka, ops endpoints, metrics, logs, traces.

Services import this and `contracts`; never each other.
"""
