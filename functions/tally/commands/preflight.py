"""`tally preflight PROJECT`: before the first `terraform apply`, whether the project's
organisation lets the page be public.

`site_public = true` (the default) grants `allUsers` read on the site bucket. Two
organisation policy constraints refuse that grant, and the apply then stops at it with
a raw API error:
- `iam.allowedPolicyMemberDomains` (domain-restricted sharing; enforced by default in
  organisations created since May 2024): a list of allowed customer IDs leaves out
  `allUsers`;
- `storage.publicAccessPrevention`: no bucket under it can be public.

This reads the *effective* policy of both for the project (Resource Manager v1,
`projects.getEffectiveOrgPolicy`: what the organisation and folders set, merged), with
the application-default credentials Terraform uses, and says what to set. Exit status:
0 the page can be public, 1 `site_public = true` would be refused, 2 the policies could
not be read (the command to read them by hand is printed).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

ENDPOINT = "https://cloudresourcemanager.googleapis.com"
ENDPOINT_VARIABLE = "TALLY_RESOURCE_MANAGER_ENDPOINT"  # a local stand-in (tests)
CONSTRAINTS = {
    "iam.allowedPolicyMemberDomains": "domain-restricted sharing",
    "storage.publicAccessPrevention": "public access prevention",
}
TIMEOUT = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preflight", help="can this project's page be public? (organisation policies)"
    )
    parser.add_argument("project", metavar="PROJECT", help="the project ID to deploy into")
    parser.set_defaults(func=run)


def _session() -> tuple[Any, str]:
    """An HTTP session carrying the caller's credentials, and the API's address."""
    import requests

    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if endpoint:
        return requests.Session(), endpoint.rstrip("/")
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return AuthorizedSession(credentials), ENDPOINT


def refusal(constraint: str, policy: dict[str, Any]) -> str | None:
    """Why an effective policy refuses an `allUsers` binding, or None if it does not."""
    if constraint == "storage.publicAccessPrevention":
        enforced = (policy.get("booleanPolicy") or {}).get("enforced") is True
        return "enforced: no bucket can be public" if enforced else None
    listing = policy.get("listPolicy") or {}
    if listing.get("allValues") == "ALLOW":
        return None
    if listing.get("allValues") == "DENY":
        return "enforced, no member allowed: allUsers refused"
    allowed = listing.get("allowedValues") or []
    if allowed:
        return f"enforced, members of {', '.join(map(str, allowed))} only: allUsers refused"
    return None


def _effective_policy(post: Callable[..., Any], base: str, project: str, constraint: str) -> Any:
    response = post(
        f"{base}/v1/projects/{project}:getEffectiveOrgPolicy",
        json={"constraint": f"constraints/{constraint}"},
        timeout=TIMEOUT,
    )
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise RuntimeError(f"HTTP {response.status_code}: {message}")
    return response.json()


def run(args: argparse.Namespace) -> int:
    project = args.project
    print(f"project {project}")
    refused: list[str] = []
    unread: list[str] = []
    try:
        session, base = _session()
    except Exception as exc:  # noqa: BLE001 - no credentials: say so, as for a refused read
        print(f"no credentials to read the organisation policies: {exc}")
        unread = list(CONSTRAINTS)
    else:
        for constraint, name in CONSTRAINTS.items():
            try:
                policy = _effective_policy(session.post, base, project, constraint)
            except Exception as exc:  # noqa: BLE001 - one line per constraint, whatever failed
                print(f"{name} ({constraint}): could not be read: {exc}")
                unread.append(constraint)
                continue
            why = refusal(constraint, policy)
            print(f"{name} ({constraint}): {why or 'allows a public page'}")
            if why:
                refused.append(name)
    if refused:
        print(
            "site_public = true would fail at the allUsers binding of the site bucket "
            f"({' and '.join(refused)}). Set site_public = false in terraform/terraform.tfvars "
            "(the page is then read signed in, by the principals you grant "
            "roles/storage.objectViewer on the bucket), or ask an organisation policy "
            "administrator for an exception for this project."
        )
        return 1
    if unread:
        print("Check by hand (needs orgpolicy.policy.get on the project):")
        for constraint in unread:
            print(
                f"  gcloud resource-manager org-policies describe {constraint} "
                f"--project={project} --effective"
            )
        return 2
    print("site_public = true can be applied: the page can be public.")
    return 0
