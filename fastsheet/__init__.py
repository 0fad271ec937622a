"""fastsheet: judge every row of a dataset against a plain-English rule, locally."""

__version__ = "0.1.0"
