"""User-facing errors: one clear message that says what was wrong and how to fix it."""


class FastsheetError(Exception):
    """An error caused by the user's input or environment, safe to show as is."""


class DataError(FastsheetError):
    """The data file is missing, unreadable or malformed."""


class RuleError(FastsheetError):
    """The rule is invalid: unknown column, empty label set, bad scale, cycle."""


class ModelError(FastsheetError):
    """The model file is missing, not a GGUF, fails to verify or fails to load."""
