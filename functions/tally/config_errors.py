"""The errors of reading tally.yaml, in a module of their own: `config` (the schema) and
`config_object` (the deployed file's bytes) both raise them, and `config` reads through
`config_object`, so neither can hold them without an import circle."""

from __future__ import annotations


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class UnknownSource(LookupError):
    """An id (on the command line, in an import) that tally.yaml does not have."""

    def __init__(self, source_ids: list[str]):
        super().__init__(", ".join(source_ids))
        self.source_ids = source_ids
