"""`tally local`: the system as deployed, on loopback, from one command; until Ctrl-C.

Scheduler -> Pub/Sub -> function, as on Google Cloud: the local scheduler publishes,
the emulator pushes, the functions-framework turns the push into the CloudEvent.
The demo config (examples/demo.yaml) names the demo upstream at its default address
(http://127.0.0.1:8605); with another --port-base that origin is rewritten to the real
one. The functions get the config the way Terraform hands it to the deployed ones: an
object named by its hash in a private bucket (tally/config_object.py), whose gs://
address is in TALLY_CONFIG_OBJECT.

Which port is whose: ports.py. The processes: parts.py. Buckets, topics and
subscriptions: wiring.py. The demo's history: seeding.py. The tick lines: reporter.py.
What is published when: scheduler.py. Starting and stopping processes: supervisor.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from tally.config import Config, ConfigError, config_from_text, load_config
from tally.local import demo, parts, state
from tally.local.balancer import Balancer, balance, function_instances
from tally.local.parts import FUNCTIONS_DIR
from tally.local.ports import Ports
from tally.local.reporter import Reporter
from tally.local.scheduler import COLLECT_TOPIC, RENDER_TOPIC, Scheduler
from tally.local.seeding import seed_demo_history
from tally.local.sink import NotificationSink
from tally.local.supervisor import PartFailed, PortInUse, Supervisor, check_ports
from tally.local.wiring import BUCKET, FUNCTIONS_BUCKET, PROJECT, Wiring, config_object_url
from tally.store import Store

DEMO_ORIGIN = "http://127.0.0.1:8605"  # as written in examples/demo.yaml
PAGE_WAIT_SECONDS = 180
REPO_DIR = FUNCTIONS_DIR.parent


def demo_config_path() -> Path:
    return REPO_DIR / "examples" / "demo.yaml"


def demo_config_text(demo_port: int, path: Path | None = None) -> str:
    """examples/demo.yaml with the demo upstream's origin set to the port in use."""
    text = (path or demo_config_path()).read_text(encoding="utf-8")
    return text.replace(DEMO_ORIGIN, f"http://127.0.0.1:{demo_port}")


def page_url(ports: Ports) -> str:
    return f"{ports.storage_url}/{BUCKET}/index.html"


class Stack:
    """The parts of the local stack and the order they are started and wired in."""

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
        shard_size: int | None = None,
        workers: int = 1,
    ):
        self.config = config
        self.ports = ports
        self.run_dir = run_dir
        if config_text is None:
            assert config_path is not None
            config_text = config_path.read_text(encoding="utf-8")
        self.deployed_text = config_text  # exactly what the functions will read
        self.config_object = config_object_url(config_text)
        self.with_demo = with_demo
        self.tick_seconds = tick_seconds
        self.shard_size = shard_size
        self.workers = workers
        self.say = say
        self.supervisor = Supervisor(run_dir, say)
        self.start_tick = datetime.now(UTC).replace(second=0, microsecond=0)
        self.started = time.monotonic()
        self.wiring = Wiring(ports)
        self.firestore = self.wiring.firestore()  # connects at first use
        self.sink = NotificationSink(ports.sink, say)
        self.state_file: Path | None = None
        self.balancers: list[Balancer] = []  # with more than one worker: Cloud Run's part
        self.render_log = run_dir / "render.log"  # its first instance's, once started

    def function_env(self) -> dict[str, str]:
        return parts.function_env(self.ports, self.config_object, shard_size=self.shard_size)

    def upload_config(self) -> None:
        """The config object the functions read, as Terraform uploads it."""
        self.wiring.upload_config(self.deployed_text)

    def run(self) -> None:
        self.sink.start()
        channels = ", ".join(self.config.notify) or "none in the config"
        address = f"http://127.0.0.1:{self.ports.sink}"
        self.say(
            f"{'notify':<10} {address:<32} notification sink: every channel's messages "
            f"are printed here (channels: {channels})"
        )
        emulators = parts.emulators(self.ports, self.run_dir)
        if self.with_demo:
            emulators.append(parts.demo_upstream(self.ports, self.run_dir, self.start_tick))
        self.supervisor.start(*emulators)
        self.supervisor.wait_ready(*emulators)
        self.wiring.create_bucket(BUCKET)
        self.upload_config()
        self.wiring.create_topics(COLLECT_TOPIC, RENDER_TOPIC)
        env = self.function_env()
        served = {
            (target, port): function_instances(target, port, topic, env, self.run_dir, self.workers)
            for target, port, topic in (
                ("collect", self.ports.collect, COLLECT_TOPIC),
                ("render", self.ports.render, RENDER_TOPIC),
            )
        }
        every = [part for instances in served.values() for part in instances]
        self.supervisor.start(*every)  # both functions start at once, as before
        self.supervisor.wait_ready(*every)
        self.render_log = served["render", self.ports.render][0].log_path
        for (target, port), instances in served.items():
            balancer = balance(port, instances)
            if balancer is not None:
                self.balancers.append(balancer)
                address = f"http://127.0.0.1:{port}"
                self.say(
                    f"{target:<10} {address:<32} {self.workers} instances of main.{target}, "
                    "each handed one request at a time, as Cloud Run does"
                )
        if self.with_demo:
            store = Store(self.firestore, retention_days=self.config.retention_days)
            seed_demo_history(store, self.config, self.start_tick, self.say)
        self.wiring.push(COLLECT_TOPIC, self.ports.collect)
        self.wiring.push(RENDER_TOPIC, self.ports.render)
        self.announce()
        self.schedule()

    def announce(self) -> None:
        """Say where the stack is, for the `tally` command in other terminals (which
        reads the state file by itself) and for any other client (the export lines)."""
        config = self.run_dir / "tally.yaml"  # what the functions read, demo ports set
        config.write_text(self.deployed_text, encoding="utf-8")
        found = state.LocalStack(
            pid=os.getpid(),
            port_base=self.ports.base,
            firestore=self.ports.firestore_host,
            project=PROJECT,
            storage=self.ports.storage_url,
            bucket=BUCKET,
            config=str(config),
        )
        self.state_file = state.write(found)
        self.say(
            f"{'shell':<10} `tally alerts`, `tally export ID` … in another terminal find "
            "this stack by themselves; other clients:"
        )
        for line in found.shell_lines():
            self.say(f"{'':<10} {line}")

    def schedule(self) -> None:
        """Publish tick after tick, watching the parts; say when the page is up."""
        render_minutes = max(1, int(self.config.render_every.total_seconds() // 60))
        scheduler = Scheduler(
            self.wiring.pubsub, render_minutes, self.tick_seconds, self.start_tick
        )
        clock = (
            f"fast clock: a minute every {self.tick_seconds:g} s"
            if self.tick_seconds
            else "real clock"
        )
        self.say(
            f"{'scheduler':<10} collect every minute, render every {render_minutes} min ({clock})"
        )
        reporter = Reporter(self.config, Store(self.firestore, timeout=5), self.say)
        page_announced = False
        page_deadline = time.monotonic() + PAGE_WAIT_SECONDS
        first = True
        for tick in scheduler.ticks():
            while time.monotonic() < tick.at:
                self.supervisor.check()
                if not page_announced and self.wiring.page_exists():
                    ready_in = time.monotonic() - self.started
                    self.say(f"{'page':<10} {page_url(self.ports)}  (up in {ready_in:.0f} s)")
                    self.say("Ctrl-C stops everything.")
                    page_announced = True
                elif not page_announced and time.monotonic() > page_deadline:
                    self.say(
                        f"warning: the page is not in the bucket after {PAGE_WAIT_SECONDS} s; "
                        f"see {self.render_log}"
                    )
                    page_announced = True
                time.sleep(min(0.2, max(0.0, tick.at - time.monotonic())))
            self.supervisor.check()
            reporter.report_previous()
            if self.with_demo:  # the demo's clock is the tick's: its values at that minute
                demo.announce_tick(self.ports.demo, tick.tick)
            scheduler.publish(tick, force_render=first)
            reporter.published(tick.tick)
            first = False


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _load(config: str | None, ports: Ports) -> tuple[Config, Path | None, str | None]:
    """The config to run and where it came from: the demo's text, or the user's file."""
    if config is None:
        text = demo_config_text(ports.demo)
        return config_from_text(text, "examples/demo.yaml"), None, text
    path = Path(config).resolve()
    return load_config(str(path)), path, None


def run_stack(
    config: str | None,
    port_base: int,
    tick_seconds: float | None,
    *,
    shard_size: int | None = None,
    workers: int = 1,
) -> int:
    """Run until Ctrl-C (0) or until a part fails (1)."""

    printing = threading.Lock()

    def say(line: str) -> None:  # the sink prints from its own thread
        with printing:
            print(line, flush=True)

    ports = Ports(port_base)
    with_demo = config is None
    try:
        parsed, config_path, config_text = _load(config, ports)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file (the demo config)", file=sys.stderr)
        return 1
    missing = parts.prerequisites()
    if missing:
        for item in missing:
            print(
                f"error: not found on PATH: {item}; see README.md#prerequisites",
                file=sys.stderr,
            )
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
        shard_size=shard_size,
        workers=workers,
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
        if stack.state_file is not None:
            state.remove(stack.state_file)
        for balancer in stack.balancers:
            balancer.stop()
        stack.supervisor.stop_all()
        stack.sink.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if status == 0:
            shutil.rmtree(run_dir, ignore_errors=True)
        say("stopped: every part has exited" + (f"; logs kept in {run_dir}" if status else ""))
    return status


__all__ = [
    "BUCKET",
    "DEMO_ORIGIN",
    "FUNCTIONS_BUCKET",
    "PROJECT",
    "Ports",
    "Stack",
    "demo_config_text",
    "run_stack",
]
