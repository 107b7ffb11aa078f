"""The local stack end to end: real emulators, real functions, push subscriptions, the page
from the bucket in headless Chromium; and its supervision."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from tally.local import demo
from tally.local.stack import BUCKET, PROJECT
from tally.local.supervisor import Part, PartFailed, Supervisor

from tests.local.conftest import free_port_block, process_groups

pytestmark = pytest.mark.stack

STARTUP = 300  # emulators (Java) + functions + 120 days of history, on a 2-core machine
TICKS = 3


def tick_times(run) -> list[datetime]:  # type: ignore[no-untyped-def]
    """The ticks `tally local` reported (one line each, after reading the store back)."""
    return [
        datetime.strptime(line.split()[1] + " " + line.split()[2], "%Y-%m-%d %H:%MZ").replace(
            tzinfo=UTC
        )
        for line in run.lines("tick ")
    ]


def assert_no_process_left(groups: list[int]) -> None:
    left = {pgid: pids for pgid, pids in process_groups().items() if pgid in groups}
    assert not left, f"processes left behind in the stack's process groups: {left}"


def live_samples(firestore_host: str, start: datetime) -> dict[str, set[datetime]]:
    """Per demo source, the sample times at or after the stack's first tick."""
    return {
        source_id: set(values) for source_id, values in live_values(firestore_host, start).items()
    }


def live_values(firestore_host: str, start: datetime) -> dict[str, dict[datetime, float | None]]:
    """Per demo source, the value of each sample at or after the stack's first tick."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore
    from tally.store import Store

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = firestore_host
    try:
        client = firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
        store = Store(client)
        found: dict[str, dict[datetime, float | None]] = {}
        for source_id in demo.SOURCES:
            found[source_id] = {  # ok samples and failures, from every layout
                sample.tick: sample.value
                for sample in store.samples(source_id, since=start.date().isoformat())
                if sample.tick >= start
            }
        return found
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


def every_tick_once(firestore_host: str, reported: list[datetime]) -> bool:
    """Each source has one sample per minute since the first reported tick, nothing
    between or beside, and one for every reported tick."""
    start = reported[0]
    for times in live_samples(firestore_host, start).values():
        consecutive = [start + timedelta(minutes=n) for n in range(len(times))]
        if sorted(times) != consecutive or not set(reported) <= times:
            return False
    return True


def fanned_out_ticks(firestore_host: str) -> dict[datetime, dict]:  # type: ignore[type-arg]
    """The runs of fanned-out ticks in Firestore, by tick."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = firestore_host
    try:
        client = firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
        runs = [snapshot.to_dict() for snapshot in client.collection("fanout").stream()]
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    return {run["tick"]: run for run in runs if run.get("kind") == "collect"}


def test_the_demo_stack_collects_every_tick_and_serves_the_page(stack_run, tmp_path):
    base = free_port_block()
    run = stack_run("--port-base", str(base), "--tick-seconds", "2")
    run.wait_for(lambda: run.lines("page "), STARTUP, "page URL")
    run.wait_for(lambda: len(run.lines("tick ")) >= TICKS, 120, f"{TICKS} ticks")

    parts = run.parts()
    assert set(parts) == {"firestore", "pubsub", "storage", "demo", "collect", "render"}
    assert parts["firestore"][0] == f"127.0.0.1:{base}"
    assert parts["demo"][0] == f"http://127.0.0.1:{base + 5}"
    page_url = run.lines("page ")[0].split()[1]
    assert page_url == f"http://127.0.0.1:{base + 2}/{BUCKET}/index.html"

    # Firestore: one sample per source per tick, and nothing between or beside: the
    # samples since the first tick are consecutive minutes and include every reported
    # one. Polled, not assumed: a tick line may be printed before its commit lands, and
    # the ticks still in flight may commit out of order for a moment.
    reported = tick_times(run)
    start = reported[0]
    assert reported == [start + timedelta(minutes=n) for n in range(len(reported))]

    run.wait_for(
        lambda: every_tick_once(f"127.0.0.1:{base}", reported),
        60,
        "one sample per source per reported tick in Firestore",
    )

    # The live values came from the demo upstream through the real sources.
    assert all(" FAILED" not in line or "echo-health" in line for line in run.lines("tick "))
    # ... at the tick's minute: the demo's clock is the tick's, set before each publish.
    # A fetch runs after its tick was announced, and no later than the newest one.
    clicks = live_values(f"127.0.0.1:{base}", start)["clicks"]
    newest = tick_times(run)[-1] + timedelta(minutes=1)  # published after the last printed
    assert clicks and all(
        demo.clicks(tick) <= value <= demo.clicks(newest) for tick, value in clicks.items()
    ), (clicks, newest)

    # Then the render job (every 5 simulated minutes: 10 s here) puts the live samples
    # on the page: every card's "last sample" is one of the stack's ticks.
    def page_shows_live_samples() -> bool:
        with urllib.request.urlopen(page_url, timeout=10) as response:
            shown = re.findall(
                r"last sample (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", response.read().decode()
            )
        return len(shown) == len(demo.SOURCES) and min(shown) >= start.strftime("%Y-%m-%d %H:%M")

    run.wait_for(page_shows_live_samples, 180, "a page showing the live samples")
    with urllib.request.urlopen(page_url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "tally demo" in response.read().decode()

    check_page_in_chromium(page_url, tmp_path)

    the_cli_finds_the_stack(run, base, tmp_path)

    assert_one_clock(run, page_url, start)

    # The demo's health check has a scripted outage (its 5th and 6th checks): the
    # terminal shows the alert firing (on the second failed check: the default pending
    # period), then resolving, as the notification sink got them.
    run.wait_for(lambda: run.lines("resolved  "), 120, "a resolved message in the terminal")
    [fired] = run.lines("alert     ")[:1]
    [resolved] = run.lines("resolved  ")[:1]
    assert fired.startswith(
        "alert     Echo service (echo-health): down: unexpected HTTP 503 Service Unavailable"
    )
    assert fired.endswith(f"/{BUCKET}/s/echo-health.html  [terminal]")
    assert resolved.startswith("resolved  Echo service (echo-health): up again: ")
    assert run.stdout.index(fired) < run.stdout.index(resolved)

    # The source's page, once drawn after the outage, speaks of it at the ticks' times:
    # no time on it is later than the time it was generated.
    source_page = page_url.rsplit("/", 1)[0] + "/s/echo-health.html"
    run.wait_for(
        lambda: "503 Service Unavailable" in fetch(source_page), 120, "the outage on its page"
    )
    assert_one_clock(run, source_page, start, at_least=start + timedelta(minutes=4))

    groups = [pid for _, pid in parts.values()] + [run.process.pid]
    run.interrupt()
    assert run.wait(60) == 0, run.output
    assert run.stdout[-1].startswith("stopped: every part has exited")
    assert_no_process_left(groups)
    # stopped, it is no longer found: the command says what to set
    demo_config = str(Path(__file__).resolve().parents[2] / "examples" / "demo.yaml")
    after = cli(tmp_path, "alerts", "--config", demo_config)
    assert after.returncode == 1 and after.stderr.startswith("error: no Firestore to talk to")


def test_a_tick_fans_out_through_pub_sub_and_back_to_the_collect_workers(stack_run):
    # --shard-size 1: every tick fans out as a deployed tick of more than 250 sources
    # does (the demo's six sources are one group: one shard), through the Pub/Sub
    # emulator and back to the collect function's two worker processes. (Not the demo
    # test's alert: at a fast clock of 2 s a minute, two ticks' shards can be alerted on
    # out of order, and a late tick's failure is then rightly no news.)
    base = free_port_block()
    run = stack_run(
        "--port-base", str(base), "--tick-seconds", "2", "--shard-size", "1", "--workers", "2"
    )
    run.wait_for(lambda: run.lines("page "), STARTUP, "page URL")
    run.wait_for(lambda: len(run.lines("tick ")) >= TICKS, 120, f"{TICKS} ticks")
    reported = tick_times(run)
    run.wait_for(
        lambda: every_tick_once(f"127.0.0.1:{base}", reported),
        60,
        "one sample per source per reported tick in Firestore",
    )

    # each through its shard, alerted on once it was in (the run closed)
    def every_tick_fanned_out_and_closed() -> bool:
        runs = fanned_out_ticks(f"127.0.0.1:{base}")
        return all(
            tick in runs and list(runs[tick]["done"]) == ["0"] and "sweep_at" not in runs[tick]
            for tick in reported
        )

    run.wait_for(every_tick_fanned_out_and_closed, 60, "every reported tick's run closed")
    groups = [pid for _, pid in run.parts().values()] + [run.process.pid]
    run.interrupt()
    assert run.wait(60) == 0, run.output
    assert_no_process_left(groups)


def cli(cwd: Path, *argv: str, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The `tally` command in another terminal: none of the stack's variables set, no
    credentials, its own folder (no tally.yaml)."""
    import subprocess

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GOOGLE_", "FIRESTORE_", "STORAGE_", "PUBSUB_", "CLOUDSDK"))
        and key not in ("TALLY_CONFIG", "TALLY_CONFIG_YAML", "TALLY_SITE_BUCKET")
    }  # TALLY_STATE_DIR stays: the suite's own (tests/conftest.py)
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), CLOUDSDK_CONFIG=str(home / "gcloud"), NO_GCE_CHECK="true")
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "tally.cli", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def the_cli_finds_the_stack(run, base: int, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`tally local` prints the lines that point a shell at it, and the `tally` command
    in another terminal finds it with nothing set: its Firestore, project and config."""
    at = run.stdout.index(next(line for line in run.stdout if line.startswith("shell ")))
    exports = [line.strip() for line in run.stdout[at + 1 : at + 4]]
    assert (
        exports[0]
        == f"export FIRESTORE_EMULATOR_HOST=127.0.0.1:{base} GOOGLE_CLOUD_PROJECT={PROJECT}"
    )
    assert exports[1] == (
        f"export STORAGE_EMULATOR_HOST=http://127.0.0.1:{base + 2} TALLY_SITE_BUCKET={BUCKET}"
    )
    assert re.fullmatch(r"export TALLY_CONFIG=/\S+/tally\.yaml", exports[2])
    config = exports[2].split("=", 1)[1]
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    exported = cli(folder, "export", "clicks")
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr == (
        f"note: the running `tally local` (Firestore emulator 127.0.0.1:{base}, project "
        f"{PROJECT}, config {config}); to use Google Cloud, set GOOGLE_CLOUD_PROJECT\n"
    )
    rows = exported.stdout.splitlines()
    assert rows[0] == "time,value,ok,latency_ms,error"
    assert len(rows) > 120 * 24  # the demo's hourly history and the live ticks
    # the printed lines, pasted into a shell, point at the same stack
    pasted = dict(
        pair.split("=", 1) for line in exports for pair in line.removeprefix("export ").split()
    )
    same = cli(folder, "export", "clicks", extra=pasted)
    assert same.returncode == 0 and same.stderr == ""
    assert same.stdout.splitlines()[: len(rows) - 5] == rows[: len(rows) - 5]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


TIME_ON_PAGE = re.compile(r"\b(\d{4}-\d\d-\d\d \d\d:\d\d)\b")


def assert_one_clock(run, url: str, start: datetime, at_least: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    """The page and the terminal tell one time (the fast clock's): the page was generated
    at a tick the stack published (its render's, or the newest whose alerts it shows),
    and nothing on it (samples, incidents) is later than that."""
    text = fetch(url)
    printed = tick_times(run)[-1]  # read after the page: the page is no newer than this
    [generated_text] = re.findall(r"Generated (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", text)
    generated = datetime.strptime(generated_text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert (at_least or start) <= generated <= printed + timedelta(minutes=1), (
        generated,
        printed,
    )
    shown = [
        datetime.strptime(found, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        for found in TIME_ON_PAGE.findall(text)
    ]
    assert len(shown) > 1
    assert max(shown) == generated, (url, generated, sorted(set(shown))[-5:])


def check_page_in_chromium(page_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    from tests.support.browser import chromium_path, launch

    if chromium_path() is None:  # a missing browser is a failure, not a silent skip
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    names = {s["id"]: s["name"] for s in yaml.safe_load(demo_yaml())["sources"]}
    failures: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 8000})
            page.on(
                "response",
                lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.on("requestfailed", lambda r: failures.append(f"failed {r.url}"))
            page.goto(page_url, wait_until="networkidle")
            cards = page.locator(".card")
            shown = {
                cards.nth(i).locator(".name").inner_text(): cards.nth(i)
                .locator(".value")
                .inner_text()
                for i in range(cards.count())
            }
            for source_id, name in names.items():
                value = shown.get(name)
                assert value and any(ch.isdigit() for ch in value), (source_id, shown)
            page.screenshot(path=str(tmp_path / "index.png"), full_page=True)

            links = [
                page.locator(".card a").nth(i).get_attribute("href")
                for i in range(page.locator(".card a").count())
            ]
            assert len(links) == len(names)
            for link in links:
                page.goto(page_url.rsplit("/", 1)[0] + "/" + link, wait_until="networkidle")
                images = page.locator("img")
                assert images.count() >= 1, link
                for i in range(images.count()):
                    image = images.nth(i)
                    image.scroll_into_view_if_needed()
                    loaded = image.evaluate(
                        "img => img.decode().then(() => img.naturalWidth > 0, () => false)"
                    )
                    assert loaded, (link, image.get_attribute("src"))
        finally:
            browser.close()
    assert not failures, failures


def demo_yaml() -> str:
    from tally.local.stack import demo_config_path

    return demo_config_path().read_text(encoding="utf-8")


def test_killing_the_collect_server_stops_the_stack_cleanly(stack_run):
    base = free_port_block()
    run = stack_run("--port-base", str(base), "--tick-seconds", "2")
    run.wait_for(lambda: len(run.lines("tick ")) >= 1, STARTUP, "the first tick")
    parts = run.parts()
    groups = [pid for _, pid in parts.values()] + [run.process.pid]
    assert len(process_groups().get(parts["firestore"][1], [])) >= 2  # gcloud and its Java

    os.kill(parts["collect"][1], signal.SIGKILL)
    assert run.wait(60) == 1, run.output
    errors = "\n".join(run.stderr)
    assert "collect exited unexpectedly" in errors
    # the log is named (its last lines shown if it has any: killed under load, it may
    # have none yet), and kept
    assert "collect.log" in errors
    assert run.stdout[-1].startswith("stopped: every part has exited; logs kept in ")
    assert_no_process_left(groups)
    kept = Path(run.stdout[-1].rsplit(" ", 1)[1])
    assert (kept / "collect.log").exists()
    shutil.rmtree(kept)


def test_a_port_in_use_is_named(stack_run):
    base = free_port_block()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 3))
        taken.listen()
        run = stack_run("--port-base", str(base))
        assert run.wait(30) == 1
    errors = "\n".join(run.stderr)
    assert f"port {base + 3} (for collect) is already in use" in errors
    assert "--port-base" in errors
    assert not run.parts()  # nothing was started


def test_a_bad_config_stops_before_anything_starts(stack_run, tmp_path):
    path = tmp_path / "tally.yaml"
    path.write_text("sources:\n  - id: x\n    kind: json\n    url: nope\n    every: 1m\n")
    run = stack_run("--config", str(path), "--port-base", str(free_port_block()))
    assert run.wait(30) == 1
    errors = "\n".join(run.stderr)
    assert "source 'x'" in errors and "url" in errors
    assert not run.parts()


def test_the_demo_config_names_the_demo_upstream_on_the_port_in_use():
    from tally.config import parse_config
    from tally.local.stack import DEMO_ORIGIN, demo_config_text

    assert DEMO_ORIGIN in demo_yaml()
    config = parse_config(yaml.safe_load(demo_config_text(12345)))
    urls = [getattr(s, "url", None) or s.api_url for s in config.sources]  # type: ignore[attr-defined]
    assert urls and all(url.startswith("http://127.0.0.1:12345/") for url in urls)
    assert [s.id for s in config.sources] == demo.SOURCES
    assert all(s.every == timedelta(minutes=1) for s in config.sources)  # a sample every tick


def test_a_part_that_dies_while_starting_is_named_with_its_log(tmp_path):
    part = Part(
        "flaky",
        [sys.executable, "-c", "print('boom: cannot bind'); raise SystemExit(3)"],
        address="-",
        ready=lambda: False,
        log_dir=tmp_path,
    )
    supervisor = Supervisor(tmp_path, say=lambda line: None)
    supervisor.start(part)
    try:
        with pytest.raises(PartFailed) as info:
            supervisor.wait_ready(part)
    finally:
        supervisor.stop_all()
    assert "flaky exited unexpectedly (exit code 3)" in str(info.value)
    assert "boom: cannot bind" in str(info.value)


def test_stopping_a_part_stops_what_it_spawned_even_when_that_ignores_sigterm(tmp_path):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    parent = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {stubborn!r}]); time.sleep(120)"
    )
    part = Part(
        "parent", [sys.executable, "-c", parent], address="-", ready=lambda: True, log_dir=tmp_path
    )
    supervisor = Supervisor(tmp_path, say=lambda line: None)
    supervisor.start(part)
    try:
        deadline = time.monotonic() + 20
        while len(process_groups().get(part.pid, [])) < 2:
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.1)
    finally:
        supervisor.stop_all()
    assert_no_process_left([part.pid])
