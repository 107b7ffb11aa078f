"""`tally preflight PROJECT`: an organisation that refuses allUsers is told before the
apply, with what to set. Resource Manager has no emulator: a loopback server answers
projects.getEffectiveOrgPolicy with the policies an organisation would have."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tally.cli import main

DOMAINS = "iam.allowedPolicyMemberDomains"
PUBLIC = "storage.publicAccessPrevention"


class ResourceManager:
    """Answers POST /v1/projects/P:getEffectiveOrgPolicy from `policies` by constraint
    (an int answers that HTTP error); records each request's path and body."""

    def __init__(self) -> None:
        self.policies: dict[str, Any] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append((self.path, body))
                constraint = body["constraint"].removeprefix("constraints/")
                answer = owner.policies.get(constraint, {"constraint": body["constraint"]})
                if isinstance(answer, int):
                    status, payload = answer, {"error": {"code": answer, "message": "denied"}}
                else:
                    status, payload = 200, answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResourceManager]:
    server = ResourceManager()
    monkeypatch.setenv("TALLY_RESOURCE_MANAGER_ENDPOINT", server.url)
    yield server
    server.stop()


def preflight(capsys: pytest.CaptureFixture[str], project: str = "my-tally") -> tuple[int, str]:
    code = main(["preflight", project])
    return code, capsys.readouterr().out


def test_a_project_without_organisation_policies_can_have_a_public_page(manager, capsys):
    code, out = preflight(capsys)
    assert code == 0
    assert out.splitlines()[-1] == "site_public = true can be applied: the page can be public."
    assert manager.requests == [
        ("/v1/projects/my-tally:getEffectiveOrgPolicy", {"constraint": f"constraints/{DOMAINS}"}),
        ("/v1/projects/my-tally:getEffectiveOrgPolicy", {"constraint": f"constraints/{PUBLIC}"}),
    ]


def test_domain_restricted_sharing_is_told_before_the_apply_with_what_to_set(manager, capsys):
    """An organisation created since May 2024: its customer ID is the only one allowed."""
    manager.policies[DOMAINS] = {
        "constraint": f"constraints/{DOMAINS}",
        "listPolicy": {"allowedValues": ["C03xgje4y"]},
    }
    code, out = preflight(capsys)
    assert code == 1
    assert (
        "domain-restricted sharing (iam.allowedPolicyMemberDomains): enforced, members of "
        "C03xgje4y only: allUsers refused"
    ) in out
    assert "public access prevention (storage.publicAccessPrevention): allows a public page" in out
    assert "Set site_public = false in terraform/terraform.tfvars" in out


@pytest.mark.parametrize(
    ("constraint", "policy", "refused"),
    [
        (PUBLIC, {"booleanPolicy": {"enforced": True}}, True),
        (PUBLIC, {"booleanPolicy": {}}, False),  # false is left out of the JSON
        (DOMAINS, {"listPolicy": {"allValues": "DENY"}}, True),
        (DOMAINS, {"listPolicy": {"allValues": "ALLOW"}}, False),
        (DOMAINS, {"restoreDefault": {}}, False),  # the constraint's default: allow all
    ],
)
def test_each_way_a_policy_can_read(manager, capsys, constraint, policy, refused):
    manager.policies[constraint] = policy
    code, out = preflight(capsys)
    assert code == (1 if refused else 0), out


def test_a_policy_that_cannot_be_read_is_said_with_the_command_to_read_it(manager, capsys):
    manager.policies[PUBLIC] = 403
    code, out = preflight(capsys, "other-project")
    assert code == 2
    assert "public access prevention (storage.publicAccessPrevention): could not be read: " in out
    assert "HTTP 403: denied" in out
    assert (
        "  gcloud resource-manager org-policies describe storage.publicAccessPrevention "
        "--project=other-project --effective"
    ) in out.splitlines()
