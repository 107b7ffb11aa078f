"""Hostile bodies (issue 16): one source's trouble is its own failed sample.

Each case is a tick of the real `main.collect`, served by functions-framework on
loopback (gunicorn, as Cloud Functions runs it) with the Firestore emulator; the
hostile upstream (tests/bench/hostile_upstream.py) is a process of its own. Every tick
also collects four ordinary sources (a JSON counter, a page, a feed, a check). Per case:

- the tick's wall time (the POST of the Pub/Sub push until functions-framework
  answered, samples stored) against the hostile source's timeout;
- the peak memory the function added: the RSS of the functions-framework processes
  and their reader processes, summed and sampled every 5 ms, over the same processes
  after an ordinary tick just before (so readers are running and warm); each case
  runs in a fresh function, so nothing one case left behind weighs on the next;
- what the hostile source's sample says, and how many of the ordinary sources were
  stored with their value.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from tests.bench.stack import ROOT

MIB = 2**20
TIMEOUT = 10  # seconds: every source's timeout (tally's default)
FUNCTION_MEMORY_MIB = 512  # terraform/variables.tf: collect_memory
SAMPLE_SECONDS = 0.005


AT_ONCE = "64 hostile sources at once"


def _case_sources(url: str) -> dict[str, list[tuple[str, dict]]]:
    """The hostile sources of each case, each with the name of the body it reads."""
    html = {"kind": "html", "selector": "p"}
    single = {
        "regex: (\\d+) items on 40,000 digits": {
            **html,
            "url": f"{url}/digits",
            "regex": r"(\d+) items",
        },
        "expect_regex: (\\d+) items on 5 MiB": {
            "kind": "http",
            "url": f"{url}/five-mib-digits",
            "expect_regex": r"(\d+) items",
        },
        "deep html: 1 M unclosed <div>": {**html, "url": f"{url}/deep.html"},
        "wide html: <i></i> × 750,000": {**html, "url": f"{url}/wide.html"},
        "a tag of 2.6 M attributes": {**html, "url": f"{url}/attributes.html"},
        "100,000 unclosed <a (html.parser's slow path)": {**html, "url": f"{url}/unclosed.html"},
        "entity feed (86× each, under expat's 100×)": {"kind": "rss", "url": f"{url}/entities.xml"},
        "deep JSON: 5 M [": {"kind": "json", "url": f"{url}/deep.json", "query": "a"},
        "huge JSON: 1.7 M {}": {"kind": "json", "url": f"{url}/objects.json", "query": "a"},
        "drip: a byte every 250 ms": {
            "kind": "json",
            "url": f"{url}/drip-body?seconds=60",
            "query": "value",
        },
        "a real large page: 1.9 MB, 20,000 elements": {
            "kind": "html",
            "url": f"{url}/product.html",
            "selector": "#n",
        },
    }
    cases = {name: [(name, fields)] for name, fields in single.items()}
    hostile = [(name, fields) for name, fields in single.items() if not name.startswith("a real")]
    cases[AT_ONCE] = [hostile[n % len(hostile)] for n in range(64)]
    return cases


def _ordinary(url: str) -> list[dict]:
    return [
        {"id": "ok-json", "kind": "json", "url": f"{url}/ok/count.json", "query": "data.count"},
        {"id": "ok-page", "kind": "html", "url": f"{url}/ok/page", "selector": "#n"},
        {"id": "ok-feed", "kind": "rss", "url": f"{url}/ok/feed"},
        {"id": "ok-check", "kind": "http", "url": f"{url}/ok/health", "expect_body": "pong"},
    ]


def _cron(tick: datetime) -> str:
    return f"{tick.minute} {tick.hour} * * *"


def _config(url: str, ticks: dict[str, datetime]) -> tuple[dict, dict[str, list[tuple[str, str]]]]:
    sources = [{**fields, "every": "1m", "timeout": f"{TIMEOUT}s"} for fields in _ordinary(url)]
    ids: dict[str, list[tuple[str, str]]] = {}
    for number, (name, fields_list) in enumerate(_case_sources(url).items()):
        if name not in ticks:
            continue
        ids[name] = []
        for index, (body, fields) in enumerate(fields_list):
            source_id = f"case{number}-{index}"
            ids[name].append((source_id, body))
            sources.append(
                {
                    **fields,
                    "id": source_id,
                    "schedule": _cron(ticks[name]),
                    "timeout": f"{TIMEOUT}s",
                }
            )
    return {"stale_event_after": "12h", "sources": sources}, ids


# --- the function's processes ----------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class TreeMemory:
    """The summed RSS of a process and all its descendants, sampled on a thread."""

    def __init__(self, root: int):
        self.root = root
        self._pids = self._tree()
        self._last_scan = time.monotonic()

    def _tree(self) -> list[int]:
        tree, pids, pending = _children(), [], [self.root]
        while pending:
            pid = pending.pop()
            pids.append(pid)
            pending += tree.get(pid, [])
        return pids

    def now(self) -> int:
        if time.monotonic() - self._last_scan > 0.05:  # readers come and go
            self._pids, self._last_scan = self._tree(), time.monotonic()
        return sum(_rss(pid) for pid in self._pids)

    def peak_during(self, action):  # type: ignore[no-untyped-def]
        peak = [self.now()]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], self.now())
                time.sleep(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            result = action()
        finally:
            done.set()
            sampler.join()
        return result, max(peak[0], self.now())


NO_ANSWER = 120.0  # seconds: a tick still running then is reported as such


def _push(port: int, tick: datetime) -> float:
    """POST the Pub/Sub push of `tick` as the emulator would; seconds until answered
    (infinity when the function has not answered after NO_ANSWER seconds)."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    message_id = str(uuid.uuid4().int)[:16]
    body = {
        "message": {
            "data": base64.b64encode(b"").decode(),
            "messageId": message_id,
            "publishTime": now,
            "attributes": {"tick": tick.isoformat().replace("+00:00", "Z")},
        },
        "subscription": "projects/demo-tally/subscriptions/tally-collect",
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-source": "//pubsub.googleapis.com/projects/demo-tally/topics/tally-collect",
            "ce-id": message_id,
            "ce-time": now,
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=NO_ANSWER) as response:
            response.read()
    except TimeoutError:
        return float("inf")
    return time.perf_counter() - started


def _function(port: int, env: dict[str, str], functions: Path):  # type: ignore[no-untyped-def]
    from tests.support.processes import Server, port_open

    server = Server(
        "collect",
        [
            sys.executable,
            "-m",
            "functions_framework",
            "--target=collect",
            "--signature-type=cloudevent",
            "--source=main.py",
            "--host=127.0.0.1",
            f"--port={port}",
        ],
        env=env,
        cwd=functions,
    )
    server.wait_until(lambda: port_open(port))
    return server


def main() -> None:
    from google.cloud import firestore
    from tally.store import Store

    from tests.support.emulators import PROJECT, FirestoreEmulator
    from tests.support.processes import Server, free_port, port_open

    # Another checkout's functions/ (TALLY_BENCH_FUNCTIONS) measures the code before a
    # change; its 64 hostile sources at once are left out (up to 1.5 GB each).
    functions = Path(os.environ.get("TALLY_BENCH_FUNCTIONS") or ROOT / "functions")
    other = functions.resolve() != (ROOT / "functions").resolve()
    emulator = FirestoreEmulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host  # this process reads the samples
    upstream_port = free_port()
    upstream = Server(
        "hostile-upstream",
        [sys.executable, "-m", "tests.bench.hostile_upstream", str(upstream_port)],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{upstream_port}"
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    names = [name for name in _case_sources(url) if not (other and name == AT_ONCE)]
    ticks = {name: base + timedelta(minutes=3 * n + 2) for n, name in enumerate(names)}
    config, ids = _config(url, ticks)
    config_path = Path(tempfile.mkdtemp(prefix="tally-hostile-")) / "tally.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    env = {
        **os.environ,
        "TALLY_CONFIG": str(config_path),
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "TALLY_METRICS": "off",
    }
    rows = []
    try:
        upstream.wait_until(lambda: port_open(upstream_port))
        store = Store(firestore.Client(project=PROJECT))
        for name in names:  # a fresh function each: nothing left over from the case before
            tick, port = ticks[name], free_port()
            function = _function(port, env, functions)
            try:
                pid = function.part.pid
                assert pid is not None
                memory = TreeMemory(pid)
                _push(port, tick - timedelta(minutes=2))  # cold: imports, clients, readers
                _push(port, tick - timedelta(minutes=1))  # an ordinary tick just before
                time.sleep(0.5)
                idle = memory.now()
                seconds, peak = memory.peak_during(lambda tick=tick, port=port: _push(port, tick))
            finally:
                function.stop()
            key, day = tick.strftime("%H%M"), tick.strftime("%Y-%m-%d")
            reasons = []
            for source_id, body in ids[name]:
                document = store.day(source_id, day)
                sample = (document.samples.get(key) or {}) if document else {}
                reasons.append((body, sample.get("error") or f"value {sample.get('value')}"))
            stored = 0
            for source in _ordinary(url):
                document = store.day(source["id"], day)
                stored += bool(document and (document.samples.get(key) or {}).get("ok"))
            rows.append((name, seconds, (peak - idle) / MIB, idle / MIB, reasons, stored))
    finally:
        upstream.stop()
        emulator.stop()
    if other:
        print(f"The collector of {functions}.\n")
    _report(rows)


def _report(rows) -> None:  # type: ignore[no-untyped-def]
    print(
        f"Every source's timeout {TIMEOUT} s; the function's memory {FUNCTION_MEMORY_MIB} MiB; "
        f"{datetime.now(UTC):%Y-%m-%d}.\n"
    )
    print(
        "| case | tick | peak memory added | the function's processes before | "
        "the hostile source's sample | ordinary sources stored |"
    )
    print("|---|---|---|---|---|---|")
    for name, seconds, added, idle, reasons, stored in rows:
        said = reasons[0][1] if len(reasons) == 1 else f"{len(reasons)} failed samples, below"
        took = f"{seconds:.2f} s" if seconds < NO_ANSWER else f"no answer after {NO_ANSWER:g} s"
        print(f"| {name} | {took} | {added:.0f} MiB | {idle:.0f} MiB | {said} | {stored} of 4 |")
    for name, _, _, _, reasons, _ in rows:
        if len(reasons) > 1:
            print(f"\n| {name}: the body | sources | their samples |")
            print("|---|---|---|")
            for body in sorted(set(b for b, _ in reasons), key=[b for b, _ in reasons].index):
                said = [reason for b, reason in reasons if b == body]
                counted = "; ".join(
                    f"{said.count(reason)} × {reason}"
                    for reason in sorted(set(said), key=said.index)
                )
                print(f"| {body} | {len(said)} | {counted} |")


if __name__ == "__main__":
    main()
