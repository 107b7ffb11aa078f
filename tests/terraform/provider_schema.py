"""The Terraform providers' schemas, read from the cdktf prebuilt providers on npm.

`terraform validate` needs the providers, which cannot be downloaded here. The npm
packages `@cdktf/provider-google`, `-google-beta`, `-archive` and `-time` are generated
from the providers' own schemas and carry them in their `.jsii` manifests: one class per
resource and data source, one interface per block, each property with its optional
flag and the provider's description (which lists the allowed values as
`Possible values: [...]`). This module installs the pinned packages once into a cache
folder outside the repository, turns the 100 MB manifest into a compact schema, and
caches that too, so a warm run reads a small JSON file. The schemas are kept per
provider: google and google-beta share most type names but not every attribute, and
a resource is checked against the provider that will serve it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

# cdktf prebuilt provider -> the provider version it was generated from.
PACKAGES = {
    "@cdktf/provider-google": ("16.12.1", "hashicorp/google", "6.50.0"),
    "@cdktf/provider-google-beta": ("16.12.1", "hashicorp/google-beta", "6.50.0"),
    "@cdktf/provider-archive": ("11.0.1", "hashicorp/archive", "2.7.1"),
    "@cdktf/provider-time": ("11.0.1", "hashicorp/time", "0.13.1"),
}
SCHEMA_FORMAT = 3  # bump when the compact format below changes

_LINK = re.compile(
    r"registry\.terraform\.io/providers/(?P<provider>[\w-]+/[\w-]+)/(?P<version>[\d.]+)/docs/"
    r"(?P<kind>resources|data-sources)/(?P<page>\w+)(?:#(?P<anchor>\w+))?\s+(?P<text>[^}]*)\}"
)
_POSSIBLE = re.compile(r"Possible values: \[([^\]]*)\]")
_QUOTED = re.compile(r'"([^"]*)"')


class SchemaUnavailable(RuntimeError):
    """npm or the package could not be had: a failure of the test run, never a skip."""


def cache_dir() -> Path:
    """Where downloaded tools live: $TALLY_TEST_CACHE, else ~/.cache/tally-tests."""
    explicit = os.environ.get("TALLY_TEST_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tally-tests"


def _installed_version(root: Path, package: str) -> str | None:
    manifest = root / "node_modules" / package / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


def ensure_packages(root: Path | None = None) -> dict[str, Path]:
    """Install the pinned packages into `root` unless already there; their .jsii paths."""
    root = root or cache_dir() / "npm"
    missing = [
        f"{name}@{version}"
        for name, (version, _, _) in PACKAGES.items()
        if _installed_version(root, name) != version
    ]
    if missing:
        npm = shutil.which("npm")
        if npm is None:
            raise SchemaUnavailable(
                "npm is not installed: it is needed to fetch " + " ".join(missing)
            )
        root.mkdir(parents=True, exist_ok=True)
        package_json = root / "package.json"
        if not package_json.exists():
            package_json.write_text('{"private": true}\n', encoding="utf-8")
        # Every pinned package in one command: `npm install` prunes what it is not told.
        wanted = [f"{name}@{version}" for name, (version, _, _) in PACKAGES.items()]
        result = subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts",
             "--legacy-peer-deps", "--prefix", str(root), *wanted],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise SchemaUnavailable(
                f"npm install {' '.join(wanted)} failed:\n{result.stderr[-3000:]}"
            )
        for name, (version, _, _) in PACKAGES.items():
            if _installed_version(root, name) != version:
                raise SchemaUnavailable(f"{name}@{version} is not in {root} after npm install")
    return {name: root / "node_modules" / name / ".jsii" for name in PACKAGES}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _prop_name(prop: dict[str, Any]) -> str:
    docs = prop.get("docs", {})
    for text in (docs.get("remarks", ""), docs.get("summary", "")):
        match = _LINK.search(text)
        if match and match.group("anchor"):
            return match.group("anchor")
    return _snake(prop["name"])


def _allowed(prop: dict[str, Any]) -> list[str] | None:
    docs = prop.get("docs", {})
    text = docs.get("summary", "") + "\n" + docs.get("remarks", "")
    match = _POSSIBLE.search(text)
    return _QUOTED.findall(match.group(1)) if match else None


def _block_fqn(type_: dict[str, Any], assembly: str) -> str | None:
    """The datatype fqn when a property is a nested block, else None."""
    fqn = type_.get("fqn")
    if fqn and fqn.startswith(assembly + "."):
        return fqn
    for option in type_.get("union", {}).get("types", []):
        element = option.get("collection", {}).get("elementtype", {})
        fqn = element.get("fqn")
        if fqn and fqn.startswith(assembly + "."):
            return fqn
    return None


def _properties(types: dict[str, Any], fqn: str) -> list[dict[str, Any]]:
    spec = types[fqn]
    props = list(spec.get("properties", []))
    for parent in spec.get("interfaces", []):
        if parent in types:
            props.extend(_properties(types, parent))
    return props


def _block(types: dict[str, Any], fqn: str, assembly: str, seen: tuple[str, ...]) -> dict:
    attributes: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    for prop in _properties(types, fqn):
        name = _prop_name(prop)
        required = not prop.get("optional", False)
        nested = _block_fqn(prop["type"], assembly)
        if nested and nested in types and types[nested].get("datatype") and nested not in seen:
            blocks[name] = {
                "required": required,
                "block": _block(types, nested, assembly, (*seen, nested)),
            }
        else:
            attributes[name] = {"required": required, "values": _allowed(prop)}
    return {"attributes": attributes, "blocks": blocks}


def compact_schema(jsii_path: Path) -> dict[str, Any]:
    """{'provider', 'version', 'resource': {type: block}, 'data': {type: block}}."""
    manifest = json.loads(jsii_path.read_text(encoding="utf-8"))
    assembly = manifest["name"]
    types = manifest["types"]
    out: dict[str, Any] = {
        "resource": {},
        "data": {},
        "provider_config": {},
        "provider": None,
        "version": None,
    }
    for spec in types.values():
        if spec.get("kind") == "class" and spec.get("base") == "cdktf.TerraformProvider":
            config = next(
                (
                    p["type"]["fqn"]
                    for p in spec["initializer"]["parameters"]
                    if p["name"] == "config"
                ),
                None,
            )
            if config:
                local_name = manifest["name"].rsplit("provider-", 1)[-1]
                out["provider_config"][local_name] = _block(types, config, assembly, (config,))
            continue
        if spec.get("kind") != "class" or spec.get("base") not in (
            "cdktf.TerraformResource",
            "cdktf.TerraformDataSource",
        ):
            continue
        match = _LINK.search(spec.get("docs", {}).get("summary", ""))
        if not match:
            continue
        kind = "resource" if match.group("kind") == "resources" else "data"
        type_name = match.group("text").strip()
        out["provider"], out["version"] = match.group("provider"), match.group("version")
        config = next(
            (p["type"]["fqn"] for p in spec["initializer"]["parameters"] if p["name"] == "config"),
            None,
        )
        if config is None:
            continue
        out[kind][type_name] = _block(types, config, assembly, (config,))
    return out


def local_name(provider: str) -> str:
    """The name a configuration uses for a provider: hashicorp/google-beta -> google-beta."""
    return provider.rsplit("/", 1)[-1]


@lru_cache(maxsize=1)
def load_schemas() -> dict[str, Any]:
    """Every pinned provider's compact schema, by local name; built once, cached on disk.

    {'providers': {source: version}, 'by_provider': {local name: {'resource', 'data'}},
    'provider_config': {local name: block}}
    """
    root = cache_dir()
    pins = "-".join(
        f"{name.split('provider-', 1)[-1]}{version}" for name, (version, _, _) in PACKAGES.items()
    )
    target = root / f"schema-v{SCHEMA_FORMAT}-{pins}.json"
    if target.exists():
        return json.loads(target.read_text(encoding="utf-8"))
    merged: dict[str, Any] = {"providers": {}, "by_provider": {}, "provider_config": {}}
    for name, path in ensure_packages().items():
        schema = compact_schema(path)
        _, provider, provider_version = PACKAGES[name]
        if (schema["provider"], schema["version"]) != (provider, provider_version):
            raise SchemaUnavailable(
                f"{name} describes {schema['provider']} {schema['version']}, "
                f"expected {provider} {provider_version}"
            )
        merged["providers"][provider] = provider_version
        merged["by_provider"][local_name(provider)] = {
            "resource": schema["resource"],
            "data": schema["data"],
        }
        merged["provider_config"].update(schema["provider_config"])
    root.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(merged), encoding="utf-8")
    tmp.replace(target)
    return merged
