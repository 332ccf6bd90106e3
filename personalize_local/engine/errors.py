"""Exceptions raised by the engine; messages are meant to be shown to API callers as-is."""


class EngineError(Exception):
    """Base class of engine errors."""


class InsufficientDataError(EngineError):
    """Training data too small (after eventType / eventValueThreshold filtering); AWS's wording."""


class UnsupportedRecipeError(EngineError):
    """The recipe ARN is not one the local engine implements."""


class FilterSyntaxError(EngineError):
    """A filter expression does not parse; the message names the character position and what was expected."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.position = position
