"""tally: keep the history of any number on the web."""

__version__ = "0.1.0"
