"""What an import did: counts and the rows it rejected, each with its line and reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Result:
    """What an import did. `rows` counts data rows (the header and blank lines excluded)."""

    rows: int = 0
    imported: int = 0
    replaced: int = 0  # of `imported`: a stored sample with a different value was overwritten
    skipped: int = 0  # already stored identically, or an identical repeat in the file
    rejected: int = 0
    days: int = 0  # day documents the rows fall on
    days_written: int = 0
    expired_rows: int = 0  # older than the retention: stored, and removed by the TTL policy
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.imported} imported, {self.skipped} skipped, {self.rejected} rejected"
            f" ({self.rows} rows; {self.days_written} of {self.days} day documents written)"
        )
        if self.replaced:
            text += f"; {self.replaced} replaced a different stored value"
        return text
