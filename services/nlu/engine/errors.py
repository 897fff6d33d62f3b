"""Exceptions raised by the NLU engine; every one derives from `NluError`."""

from __future__ import annotations


class NluError(Exception):
    """Root of the NLU engine's exceptions."""


class EmptyText(NluError, ValueError):
    """The message has no text to classify (empty or whitespace only, e.g. a media-only message).

    The caller decides what such a message means; the engine never guesses an intent for it.
    """


class NaiveReferenceTime(NluError, ValueError):
    """`reference_time` must be timezone-aware: dates are resolved in the business time zone."""


class TrainingDataError(NluError, ValueError):
    """The NLU YAML file does not follow the expected Rasa format."""


class InvalidConfig(NluError, ValueError):
    """The engine configuration is inconsistent (unknown time zone, closing before opening...)."""
