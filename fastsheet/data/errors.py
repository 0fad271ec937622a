"""User-facing errors: one clear message that says what was wrong and how to fix it."""


class FastsheetError(Exception):
    """An error caused by the user's input or environment, safe to show as is."""


class DataError(FastsheetError):
    """The data file is missing, unreadable or malformed."""


class RuleError(FastsheetError):
    """The rule is invalid: unknown column, empty label set, bad scale, cycle."""


class ModelError(FastsheetError):
    """The model file is missing, not a GGUF, fails to verify or fails to load."""


class BackendFailure(ModelError):
    """The model failed part way through a batch. `answered` holds the answers received
    before, by position in the batch; `fatal`: every later call would fail the same way
    (a server that is down), so the column stops with this one message."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.answered: dict[int, object] = {}


class Interrupted(Exception):
    """The work in flight became stale and was dropped (no answers)."""
