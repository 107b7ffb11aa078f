"""The 1,000-source tick through the path deployed (issue 22): the scheduler's message
published to the Pub/Sub emulator, pushed to the collect function on the
functions-framework (an instance a process, behind the local balancer that hands each
one request at a time, as Cloud Run does), which hands the tick to its shards (4 of 250,
the deployed default, or 2 of 500, one an instance on this machine) published back to
the same topic and pushed to the instances; alerting once the last shard is in. Beside
it, one source's tick through the same path. Measured from the publish to the moment
Firestore shows the samples stored and the alerting done (seen by Firestore listeners,
not polled).

Then 1,000- and 10,000-source ticks with an instance per shard, simulated from measured
parts: the plan (shards, messages), one 250-source shard collected in this process
(median of 3), the run's bookkeeping and alerting on every sample, measured on the
emulator; the wall time is the scheduler's step + the slowest shard + the last step.
The shard measured asks its 16 hosts with a whole instance's turns (64 a host, 16 of its
sources each): it stands for sources spread over enough hosts that none is asked more
than 64 times a tick, since a tick's shards share a host's 64 (sources/hosts.shares);
10,000 sources on 16 hosts would take ten waves of their latency.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.bench.stack import upstream_url

SHARD = 250  # the deployed default (tick_fanout.SHARD_SIZE): a third of a vCPU a shard
# This machine's shape: 2 cores, 2 instances, and the Pub/Sub emulator pushes 2
# messages of a subscription at a time (docs/local.md): 1,000 sources in shards of 500
# run at once, one an instance, where shards of 250 run as two pairs, one after another.
LOCAL_SHARD = 500
# (sources, instances, shard size) of each tick through Pub/Sub measured
STACK_ROWS = ((1, 2, SHARD), (1000, 2, SHARD), (1000, 2, LOCAL_SHARD))


def _http_sources(count: int) -> list[dict[str, str]]:
    """`count` `http` checks due every minute, on the bench's upstreams in turn."""
    return [
        {"id": f"c{n:05d}", "kind": "http", "url": f"{upstream_url(n)}/health", "every": "1m"}
        for n in range(count)
    ]


def _config_file(folder: Path, count: int) -> Path:
    path = folder / f"tally-{count}.yaml"
    path.write_text(yaml.safe_dump({"sources": _http_sources(count)}), encoding="utf-8")
    return path


def _busy() -> tuple[int, int]:
    """The machine's busy and total CPU time so far, in clock ticks (/proc/stat)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def _quiet(share: float = 0.1, window: float = 0.5, timeout: float = 30) -> None:
    """Wait until the machine's cores are under `share` busy over `window` seconds.

    Deployed, ticks are a minute apart; here they would follow each other at once, and
    the Firestore emulator goes on indexing a tick's documents for a second or two after
    its writes are acknowledged (every field: it knows nothing of the index exemptions
    terraform/firestore.tf sets), taking a core from the next tick measured."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy0, total0 = _busy()
        time.sleep(window)
        busy1, total1 = _busy()
        if busy1 - busy0 <= share * max(total1 - total0, 1):
            return


class _Watch:
    """When a document first meets `condition` (given its snapshot), from its Firestore
    listener: no polling (a read every 10 ms took about a third of a core from what is
    measured)."""

    def __init__(self, reference, condition: Callable[[Any], bool]) -> None:  # type: ignore[no-untyped-def]
        self.at: float | None = None
        self.listening = threading.Event()  # the first snapshot came
        self.met = threading.Event()

        def seen(snapshots, _changes, _read_time) -> None:  # type: ignore[no-untyped-def]
            self.listening.set()
            if self.at is None and snapshots and condition(snapshots[0]):
                self.at = time.perf_counter()
                self.met.set()

        self.watch = reference.on_snapshot(seen)
        if not self.listening.wait(30):
            raise TimeoutError("the listener never started")

    def wait(self, timeout: float = 120) -> float:
        """The moment (time.perf_counter) the condition was first met."""
        try:
            if not self.met.wait(timeout):
                raise TimeoutError("the tick did not finish")
        finally:
            self.watch.unsubscribe()
        assert self.at is not None
        return self.at


def _samples_of(data: dict, source_id: str) -> dict:  # type: ignore[type-arg]
    return (data.get("samples") or {}).get(source_id) or {}


def _data(snapshot) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return (snapshot.to_dict() or {}) if snapshot.exists else {}


class Deployment:
    """A collect function serving one config, pushed to from its own topic."""

    def __init__(self, emulator, folder: Path, config: Path, workers: int, shard: int):  # type: ignore[no-untyped-def]
        from tally.local.balancer import balance, function_instances
        from tally.local.supervisor import Supervisor

        from tests.support.processes import free_port

        self.api = emulator.api
        self.topic = f"collect-{config.stem}-{workers}-{shard}"
        self.shard = shard
        self.api.create_topic(self.topic)
        port = free_port()
        env = {
            "GOOGLE_CLOUD_PROJECT": os.environ["GOOGLE_CLOUD_PROJECT"],
            "FIRESTORE_EMULATOR_HOST": os.environ["FIRESTORE_EMULATOR_HOST"],
            "PUBSUB_EMULATOR_HOST": emulator.host,
            "TALLY_COLLECT_TOPIC": self.api.topic_path(self.topic),
            "TALLY_SHARD_SIZE": str(shard),
            "TALLY_CONFIG": str(config),
            "TALLY_CONFIG_YAML": "",
            "TALLY_CONFIG_OBJECT": "",
            "TALLY_METRICS": "off",
        }
        self.supervisor = Supervisor(folder, say=lambda _line: None)
        instances = function_instances("collect", port, self.topic, env, folder, workers)
        self.supervisor.start(*instances)
        self.supervisor.wait_ready(*instances)
        self.balancer = balance(port, instances)
        self.groups = [part.pid for part in instances if part.pid is not None]  # pgids
        self.api.create_push_subscription(
            f"{self.topic}-push", self.topic, f"http://127.0.0.1:{port}/"
        )

    def tick(self, tick: datetime) -> None:
        self.api.publish(self.topic, b"", {"tick": tick.isoformat()})

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        self.supervisor.stop_all()


def _group_seconds(groups: list[int]) -> dict[int, float]:
    """CPU seconds each process of the process groups has used so far (/proc), by pid."""
    seconds: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) in groups:  # pgrp
            ticks = int(fields[11]) + int(fields[12])  # utime, stime
            seconds[int(stat.parent.name)] = ticks / os.sysconf("SC_CLK_TCK")
    return seconds


def _one_instance(before: dict[int, float], after: dict[int, float]) -> bool:
    """Whether one process did nine tenths of the work: a tick's shards all handled by
    one instance."""
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    return sum(spent) > 0 and max(spent) > 0.9 * sum(spent)


def _timed_tick(deployment: Deployment, client, tick: datetime, count: int) -> tuple[float, ...]:  # type: ignore[no-untyped-def]
    """(seconds until every sample is stored, until alerting is done, CPU seconds of the
    collect function's processes, CPU seconds of the whole machine, 1.0 if one instance
    did the tick's work, else 0.0) of one tick. A
    fanned-out tick: every shard's mark is in (a shard marks itself after storing), and
    the run is closed (after alerting). One source: its sample is in its group's
    document, and the alert state was written."""
    from tally.fanout.completion import run_path
    from tally.group_document import assign, hour_of, hour_path

    _, hour, minute = hour_of(tick)
    run = client.document(run_path("collect", tick))
    group = client.document(hour_path(assign(["c00000"])["c00000"], hour))
    alerts = client.document("alerts/state")
    before = alerts.get().update_time
    shards = -(-count // deployment.shard)
    if count > deployment.shard:
        stored = _Watch(run, lambda snap: len(_data(snap).get("done") or {}) == shards)
        alerted = _Watch(run, lambda snap: snap.exists and "sweep_at" not in _data(snap))
    else:
        stored = _Watch(group, lambda snap: minute in _samples_of(_data(snap), "c00000"))
        alerted = _Watch(alerts, lambda snap: snap.exists and snap.update_time != before)
    processes, (machine_busy, _) = _group_seconds(deployment.groups), _busy()
    started = time.perf_counter()
    deployment.tick(tick)
    stored_at, alerted_at = stored.wait() - started, alerted.wait() - started
    after = _group_seconds(deployment.groups)
    function_cpu = sum(after.values()) - sum(processes.values())
    machine_cpu = (_busy()[0] - machine_busy) / os.sysconf("SC_CLK_TCK")
    one_instance = float(count > deployment.shard and _one_instance(processes, after))
    return stored_at, alerted_at, function_cpu, machine_cpu, one_instance


def _warm_firestore(count: int, rounds: int = 8) -> None:
    """Run `rounds` fanned-out ticks of `count` sources in this process, on a day of their
    own, then remove the alert state they left.

    The Firestore emulator is a JVM: freshly started, its CPU for the same 1,000-sample
    write falls from 3.8 s to about 0.2 s over its first ten or so (its compiler at
    work), and each kind of operation warms on its own: warmed with sample writes only,
    its CPU for a whole tick still fell from 1.4 s to 0.45 s over the next eight ticks
    (the run's marks with their payloads, the alert state's transactions). Deployed
    Firestore is never cold, and neither is an emulator after minutes of `tally
    local`; measured cold, the ticks would be timing the emulator's start."""
    from google.cloud import firestore
    from tally.store import Store
    from tally.tick_fanout import finish_shard, hand_out

    from tests.support.emulators import PROJECT

    client = firestore.Client(project=PROJECT)
    store = Store(client, timeout=120)
    config = _http_config(count)
    ids = [source.id for source in config.sources]
    day = datetime(2026, 2, 1, tzinfo=UTC)
    for n in range(rounds):
        at = day + timedelta(minutes=n)
        fanned = hand_out(config, store, _Published(), at, ids, size=SHARD, now=at)
        last = _all_but_the_last_shard_in(config, store, fanned.shards, at)
        finish_shard(config, store, at, fanned.shards[-1], last, now=at)
    for document in client.collection("alerts").list_documents():
        document.delete()  # the ticks measured start from no alert state, as before
    _quiet()


def _http_config(count: int) -> Any:
    """`_http_sources` as a parsed config, for the parts run in this process."""
    from tally.config import parse_config

    return parse_config({"sources": _http_sources(count)})


class _Published:
    """The shards' messages, counted, not sent: each shard is run here instead."""

    def __init__(self) -> None:
        self.messages = 0

    def publish(self, messages: list) -> None:  # type: ignore[type-arg]
        self.messages += len(messages)


def _all_but_the_last_shard_in(config, store, shards: list, at: datetime) -> list:  # type: ignore[no-untyped-def, type-arg]
    """Every shard's samples stored, as their collects would, and every shard but the
    last marked in; returns the last shard's samples, for the step that ends the run."""
    from tally.group_document import assign
    from tally.sample import Sample
    from tally.tick_fanout import finish_shard

    groups = assign(source.id for source in config.sources)

    def stored(shard) -> list:  # type: ignore[no-untyped-def, type-arg]
        mine = [Sample(i, at, ok=True, value=200.0, up=1, latency_ms=200) for i in shard.source_ids]
        store.write_samples(mine, groups)  # what each shard's collect stores
        return mine

    for shard in shards[:-1]:
        finish_shard(config, store, at, shard, stored(shard), now=at)
    return stored(shards[-1])


WARM, MEASURED = 3, 5  # ticks that warm every instance (and the emulator), ticks measured


def bench_stack_tick(count: int) -> dict[str, Any]:
    from google.cloud import firestore

    from tests.support.emulators import PROJECT
    from tests.support.pubsub import PubSubEmulator

    client = firestore.Client(project=PROJECT)
    emulator = PubSubEmulator()
    results: dict[str, Any] = {}
    tick = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=25)
    _warm_firestore(count)
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            for sources, workers, shard in STACK_ROWS:
                sources = min(sources, count)
                config = _config_file(folder, sources)
                deployment = Deployment(emulator, folder, config, workers, shard)
                try:
                    rows = []
                    for _ in range(WARM + MEASURED):
                        tick += timedelta(minutes=1)
                        _quiet()
                        rows.append(_timed_tick(deployment, client, tick, sources))
                    measured = rows[WARM:]
                    key = f"{sources}/{workers}/{shard}"
                    results[f"{key} stored"] = statistics.median(r[0] for r in measured)
                    results[f"{key} alerted"] = statistics.median(r[1] for r in measured)
                    results[f"{key} function cpu"] = statistics.median(r[2] for r in measured)
                    results[f"{key} machine cpu"] = statistics.median(r[3] for r in measured)
                    results[f"{key} ticks"] = [(r[1], bool(r[4])) for r in measured]
                finally:
                    deployment.stop()
    finally:
        emulator.stop()
    return results


def simulated(count: int) -> dict[str, float]:
    """The parts of a tick of `count` sources fanned out, each measured here (see the
    top); each count on hours of its own."""
    from google.cloud import firestore
    from tally.fanout.plan import plan
    from tally.group_document import assign
    from tally.store import Store
    from tally.tick_fanout import collect_shard, finish_shard, hand_out

    from tests.support.emulators import PROJECT

    config = _http_config(count)
    store = Store(firestore.Client(project=PROJECT), timeout=120)
    tick = datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + timedelta(hours=count // 1000)
    ids = [source.id for source in config.sources]
    shards = plan(ids, assign(ids), SHARD, "collect")

    times: dict[str, float] = {"shards": len(shards), "messages": len(shards) + 1}
    shard_times = []
    for n in range(3):
        started = time.perf_counter()
        collect_shard(config, tick + timedelta(minutes=n), shards[0], store, None, now=tick)
        shard_times.append(time.perf_counter() - started)
    times["shard"] = statistics.median(shard_times)
    for n, at in enumerate((tick + timedelta(minutes=10), tick + timedelta(minutes=11))):
        # the scheduler's step, then every shard's samples in and the last step; the
        # first tick creates the alert state, the second is the steady one measured
        reads0, writes0 = store.counter.reads, store.counter.writes
        started = time.perf_counter()
        fanned = hand_out(config, store, _Published(), at, ids, size=SHARD, now=at)
        times["hand out"] = time.perf_counter() - started
        mine = _all_but_the_last_shard_in(config, store, fanned.shards, at)
        last = fanned.shards[-1]
        started = time.perf_counter()
        run = finish_shard(config, store, at, last, mine, now=at)
        assert run is not None, "the last shard did not find the others in"
        times["last step" if n else "last step, first tick"] = time.perf_counter() - started
        times["reads"] = store.counter.reads - reads0
        times["writes"] = store.counter.writes - writes0
    return times
