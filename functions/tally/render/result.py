"""What one render run did: returned by render_site, read by the CLI, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field

from tally.render.series import ChartSpec


@dataclass
class RenderResult:
    redrawn: list[str] = field(default_factory=list)  # source ids whose objects were rebuilt
    uploaded: list[str] = field(default_factory=list)  # object names written
    unchanged: list[str] = field(default_factory=list)  # built but identical: not written
    charts: dict[str, ChartSpec] = field(default_factory=dict)  # what was handed to the plot
    pending: list[str] = field(default_factory=list)  # left for the next run (budget)
    failed: dict[str, str] = field(default_factory=dict)  # id -> exception: not drawn
    removed: list[str] = field(default_factory=list)  # sources gone from the config
    deleted: list[str] = field(default_factory=list)  # their objects, deleted
    shards: int = 0  # shard messages published: the sources are drawn by the shards
    published: bool = False  # index.html and the other listings written by this run
    reads: int = 0
    writes: int = 0
