"""Every object name tally writes is one Cloud Storage accepts.

The rules are written out here again, from Cloud Storage's documentation
(https://cloud.google.com/storage/docs/objects#naming), rather than imported from
tally/object_names.py: a test of the checker by itself would pass whatever it says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tally.config import parse_config
from tally.config_object import object_name
from tally.object_names import IllegalObjectName, checked
from tally.render.entry import render_site
from tally.render.publish import FolderSink, Publisher
from tally.render.result import RenderResult

from tests.render.seed import days_back, seed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LONGEST_ID = "a" + "-9" * 30 + "z"  # 62 characters: near the slug's 63


def gcs_refuses(name: str) -> str | None:
    """Why Cloud Storage would refuse `name` (None: it accepts it)."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if not 1 <= size <= 1024:
        return "length"
    if "\r" in name or "\n" in name:
        return "CR or LF"
    if name in (".", ".."):
        return ". or .."
    if name.startswith(".well-known/acme-challenge/"):
        return "acme-challenge"
    return None


def _config():
    sources = [
        {"id": "clicks", "kind": "json", "url": "https://x.test/", "query": "n", "every": "1h"},
        {"id": "pulse", "kind": "http", "url": "https://x.test/", "every": "10m"},
        {"id": LONGEST_ID, "kind": "json", "url": "https://x.test/", "query": "n", "every": "1h"},
        {
            "id": "shop",
            "kind": "html",
            "url": "https://x.test/",
            "selector": "b",
            "every": "1d",
        },
        {"id": "stars", "kind": "github", "repo": "o/r", "metric": "stars", "every": "1h"},
    ]
    return parse_config({"sources": sources})


def test_every_object_a_render_writes_has_a_name_cloud_storage_accepts(store, tmp_path):
    config = _config()
    for source in config.sources:
        seed(store, source.id, days_back(NOW.date() - timedelta(days=1), 10), 60, lambda t: 5.0)

    result = render_site(config, store, tmp_path, now=NOW, force=True)

    written = sorted(set(result.uploaded) | set(result.unchanged))
    on_disk = sorted(
        path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()
    )
    assert written == on_disk
    value_objects = {"recent", "30d", "1y", "weekly"}
    per_source = {
        source.id: ({"recent", "30d", "uptime"} if source.kind == "http" else value_objects)
        for source in config.sources
    }
    expected = {"index.html", "status.json", "incidents.json", "style.css", "favicon.svg"}
    for source_id, charts in per_source.items():
        expected |= {f"charts/{source_id}-{chart}.png" for chart in charts}
        expected |= {
            f"s/{source_id}.html",
            f"data/{source_id}.json",
            f"data/{source_id}.csv",
            f"badges/{source_id}.json",
        }
    assert set(written) == expected
    assert len(written) == 5 + 5 * 4 + 4 * 4 + 3
    assert {name: gcs_refuses(name) for name in written} == dict.fromkeys(written)
    config_name = object_name("sources: []\n")
    assert gcs_refuses(config_name) is None and checked(config_name) == config_name


@pytest.mark.parametrize(
    "name",
    [
        "charts/abc\n-recent.png",
        "s/abc\r.html",
        "",
        ".",
        "..",
        "a" * 1025,
        "é" * 513,  # 1,026 bytes
        "charts/\udc80.png",  # a lone surrogate: not UTF-8
        ".well-known/acme-challenge/token",
    ],
)
def test_a_name_cloud_storage_refuses_is_never_written(name, tmp_path):
    assert gcs_refuses(name) is not None  # the case is one Cloud Storage refuses
    result = RenderResult()
    publisher = Publisher(FolderSink(tmp_path), {}, result)
    with pytest.raises(IllegalObjectName):
        publisher.put(name, b"x")
    assert result.uploaded == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../outside.html", "s/../../x", "/etc/x", "s/a#b.html"])
def test_a_name_that_would_leave_the_folder_or_break_its_url_is_refused_too(name, tmp_path):
    publisher = Publisher(FolderSink(tmp_path / "site"), {}, RenderResult())
    with pytest.raises(IllegalObjectName):
        publisher.put(name, b"x")
    assert not (tmp_path / "outside.html").exists() and not (tmp_path / "site").exists()
