"""The Cloud Functions entry points: an instance builds its dependencies once, and a test
hands them their dependencies through the one function it replaces."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import main
from tally import runtime

from tests.core.conftest import pubsub_event, recent_tick
from tests.support.emulators import PROJECT

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
sys.path.insert(0, "functions")
import main
from tally import runtime
from tests.core.conftest import pubsub_event, recent_tick

built = []
from_environment = runtime.from_environment
runtime.from_environment = lambda: built.append(1) or from_environment()
for minutes_ago in (3, 2, 1):
    main.collect(pubsub_event(recent_tick(minutes_ago)))
main.render(pubsub_event(recent_tick(120)))  # too old: dropped, but it asks too
print(json.dumps([len(built), main.dependencies() is main.dependencies()]))
"""


def test_an_instance_builds_its_dependencies_at_its_first_event_only(firestore_emulator):
    env = {
        "PATH": "/usr/bin:/bin",
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "TALLY_CONFIG_YAML": "title: once\nsources: []\n",
        "TALLY_METRICS": "off",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [1, True]


def test_the_clock_a_test_gives_decides_how_old_an_event_is(
    firestore, upstream, write_config, monkeypatch
):
    write_config(
        {
            "stale_event_after": "30m",
            "sources": [
                {
                    "id": "clicks",
                    "kind": "json",
                    "url": f"{upstream.url}/counter",
                    "query": "data.count",
                    "every": "1m",
                }
            ],
        }
    )
    tick = recent_tick(5)
    store = runtime.store()
    for minutes_later, stored in ((31, 0), (29, 1)):
        now = tick + timedelta(minutes=minutes_later)
        given = replace(runtime.from_environment(), store=store, clock=lambda now=now: now)
        monkeypatch.setattr(main, "dependencies", lambda given=given: given)
        main.collect(pubsub_event(tick))
        assert len(list(store.samples("clicks"))) == stored
