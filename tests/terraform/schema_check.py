"""Check Terraform files against the providers' schemas, as `terraform validate` would.

Parses every `.tf` file with python-hcl2 and reports, one line per problem:
- a resource or data source type its provider does not have (the provider named by
  its `provider` meta-argument, else the first word of its type, as Terraform does),
- an attribute or nested block a resource (or block) does not have,
- a required attribute or block that is missing,
- a literal string outside the values the provider allows (`Possible values: [...]`),
- a provider block with an unknown argument.

Expressions (references, interpolations, function calls) are not evaluated: only
literals are checked against allowed values. `dynamic` blocks are checked by their
label and `content`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

META_ARGUMENTS = {
    "count",
    "for_each",
    "depends_on",
    "provider",
    "lifecycle",
    "provisioner",
    "connection",
}
PROVIDER_META = {"alias", "version"}


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def literal(value: Any) -> str | None:
    """The string a value stands for, if it is a plain string literal; else None.

    python-hcl2 8 keeps the quotes of a literal ('"RETRY"') and writes an expression
    as '${...}'; version 7 dropped the quotes. Both are understood.
    """
    if not isinstance(value, str):
        return None
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        inner = value[1:-1]
        return None if "${" in inner.replace("$${", "") else inner.replace("$${", "${")
    if "${" in value.replace("$${", ""):
        return None
    return value.replace("$${", "${")


def parse_file(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle)


def parse_text(text: str) -> dict[str, Any]:
    return hcl2.loads(text)


def parse_dir(directory: Path) -> dict[str, dict[str, Any]]:
    return {path.name: parse_file(path) for path in sorted(directory.glob("*.tf"))}


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value) and value != []


def _check_block(body: dict[str, Any], schema: dict[str, Any], where: str, top: bool) -> list[str]:
    problems: list[str] = []
    attributes = schema["attributes"]
    blocks = schema["blocks"]
    present: set[str] = set()
    for key, value in body.items():
        if key == "__is_block__" or key.startswith("__"):
            continue
        if top and key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            for item in value:
                for label, dyn in item.items():
                    name = _unquote(label)
                    present.add(name)
                    if name not in blocks:
                        problems.append(f"{where}: unknown block {name!r} (dynamic)")
                        continue
                    for content in dyn.get("content", []):
                        problems += _check_block(
                            content, blocks[name]["block"], f"{where}.{name}", False
                        )
            continue
        present.add(key)
        if key in attributes:
            allowed = attributes[key]["values"]
            if allowed:
                candidates = value if isinstance(value, list) else [value]
                for candidate in candidates:
                    text = literal(candidate)
                    if text is not None and text not in allowed:
                        problems.append(
                            f"{where}.{key}: {text!r} is not one of {', '.join(allowed)}"
                        )
        elif key in blocks:
            if _is_block_list(value):
                for item in value:
                    problems += _check_block(item, blocks[key]["block"], f"{where}.{key}", False)
        else:
            kind = "block" if _is_block_list(value) else "attribute"
            problems.append(f"{where}: unknown {kind} {key!r}")
    for name, spec in attributes.items():
        if spec["required"] and name not in present:
            problems.append(f"{where}: missing required attribute {name!r}")
    for name, spec in blocks.items():
        if spec["required"] and name not in present:
            problems.append(f"{where}: missing required block {name!r}")
    return problems


def provider_of(type_name: str, body: dict[str, Any]) -> str:
    """The provider's local name serving a resource: its `provider` meta-argument
    (`google-beta`, `google-beta.alias`), else the type's first word (`google`)."""
    explicit = body.get("provider")
    if isinstance(explicit, str):
        text = explicit.strip()
        text = text[2:-1] if text.startswith("${") and text.endswith("}") else _unquote(text)
        return text.split(".", 1)[0]
    return type_name.split("_", 1)[0]


def check_parsed(parsed: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> list[str]:
    """Problems of already-parsed files ({file name: python-hcl2 parse})."""
    problems: list[str] = []
    for filename, doc in parsed.items():
        for kind, section in (("resource", "resource"), ("data", "data")):
            for entry in doc.get(section, []):
                for raw_type, instances in entry.items():
                    type_name = _unquote(raw_type)
                    for raw_name, body in instances.items():
                        prefix = "data." if kind == "data" else ""
                        where = f"{filename}: {prefix}{type_name}.{_unquote(raw_name)}"
                        provider = provider_of(type_name, body)
                        known = schemas["by_provider"].get(provider)
                        if known is None:
                            problems.append(f"{where}: unknown provider {provider!r}")
                            continue
                        schema = known[kind].get(type_name)
                        if schema is None:
                            problems.append(
                                f"{where}: unknown {kind} type {type_name!r} (provider {provider})"
                            )
                            continue
                        problems += _check_block(body, schema, where, True)
        for entry in doc.get("provider", []):
            for raw_name, body in entry.items():
                name = _unquote(raw_name)
                where = f"{filename}: provider {name}"
                schema = schemas["provider_config"].get(name)
                if schema is None:
                    problems.append(f"{where}: unknown provider {name!r}")
                    continue
                trimmed = {k: v for k, v in body.items() if k not in PROVIDER_META}
                problems += _check_block(trimmed, schema, where, False)
    return problems


def check_dir(directory: Path, schemas: dict[str, Any]) -> list[str]:
    return check_parsed(parse_dir(directory), schemas)
