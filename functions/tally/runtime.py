"""What an entry point needs, built once per process from the environment.

Cloud Functions keeps a process warm between events, so the config, the Firestore
client and the Monitoring client are made at the first event and reused.
"""

from __future__ import annotations

import os
from functools import lru_cache

from tally.config import Config, load_config
from tally.deadlines import store_deadline
from tally.metrics import MetricWriter, enabled
from tally.store import DEFAULT_PROJECT, Store


def project() -> str:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT


@lru_cache(maxsize=1)
def config() -> Config:
    return load_config()


@lru_cache(maxsize=4)
def store(retention_days: int = 400) -> Store:
    return Store(retention_days=retention_days, timeout=store_deadline())


@lru_cache(maxsize=1)
def metric_writer() -> MetricWriter | None:
    return MetricWriter(project()) if enabled() else None


def reset() -> None:
    """Forget everything cached (tests change the environment between cases)."""
    config.cache_clear()
    store.cache_clear()
    metric_writer.cache_clear()
