"""Builds the policy's dependencies from settings: the HTTP adapter to the business API and the policy's knobs."""

from __future__ import annotations

from services.actions.business_api import BusinessApiClient
from services.actions.flows.base import ActionsDeps
from services.actions.settings import ActionsSettings


def build_deps(settings: ActionsSettings) -> ActionsDeps:
    """The real dependencies. Raises `EndpointsError` (naming the file and the problem) when the
    endpoints mapping is invalid, so a misconfigured service refuses to start.

    The caller owns the adapter's HTTP client: `await deps.business_api.close()` on shutdown.
    """
    return ActionsDeps.from_settings(settings, BusinessApiClient.from_settings(settings))
