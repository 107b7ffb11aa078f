"""The deployed tally.yaml: an object in the private functions bucket, named by its hash.

Cloud Run functions cap all environment variables of a function at 32 KiB together, and
the text of tally.yaml takes about 170 bytes a source, so it cannot travel in one at a
few hundred sources. Terraform uploads it as `config/tally-<sha256 of the text>.yaml`
and hands the functions its address in `TALLY_CONFIG_OBJECT`; a changed file is a new
name, hence a new revision on the next apply. `tally local` does the same with
fake-gcs-server, so both read their config through this module.

It is read with google-auth and requests (both already loaded by the Firestore client
on the collect path) from Cloud Storage's JSON API: google-cloud-storage stays off the
collect function's cold start.
"""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import quote

from tally.config_errors import ConfigError

PREFIX = "config/tally-"
_URL = re.compile(r"^gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<name>.+)$")
_HASHED = re.compile(r"-(?P<digest>[0-9a-f]{64})\.yaml$")
_READ_ONLY = "https://www.googleapis.com/auth/devstorage.read_only"


def object_name(text: str) -> str:
    """The object's name for a config text; terraform/main.tf computes the same."""
    return f"{PREFIX}{hashlib.sha256(text.encode('utf-8')).hexdigest()}.yaml"


def read_config_object(url: str, timeout: float = 30.0) -> str:
    """The text of `gs://bucket/name`; ConfigError when it cannot be had or does not
    match the hash in its name (a failed read raises, so the platform retries)."""
    match = _URL.match(url)
    if not match:
        raise ConfigError([f"$TALLY_CONFIG_OBJECT: {url!r} is not a gs://BUCKET/OBJECT address"])
    emulator = os.environ.get("STORAGE_EMULATOR_HOST", "").rstrip("/")
    endpoint = emulator or "https://storage.googleapis.com"
    api = f"{endpoint}/storage/v1/b/{match['bucket']}/o/{quote(match['name'], safe='')}?alt=media"
    response = _session(anonymous=bool(emulator)).get(api, timeout=timeout)
    if response.status_code != 200:
        raise ConfigError([f"{url}: cannot read the config object (HTTP {response.status_code})"])
    body = response.content
    hashed = _HASHED.search(match["name"])
    if hashed and hashlib.sha256(body).hexdigest() != hashed["digest"]:
        raise ConfigError([f"{url}: the object's content does not match the hash in its name"])
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{url}: the config object is not UTF-8 text"]) from None


def _session(anonymous: bool):  # type: ignore[no-untyped-def]
    """requests for the emulator; the function's own identity for Cloud Storage."""
    if anonymous:
        import requests

        return requests.Session()
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=[_READ_ONLY])
    return AuthorizedSession(credentials)
