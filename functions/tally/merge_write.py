"""The write `set(data, merge=True)` sends, built in one pass.

A tick's group documents are the collector's hottest path: a write of 25 samples has
about 180 leaf fields, and the client library builds its update mask by comparing every
leaf with every server timestamp (a list search per leaf) and wraps every value in a
proto-plus message. That cost 4.6 ms a document, 0.18 ms a sample, about an eighth of
a source's CPU in a tick. This builds the same protobuf (same fields, same mask, same
transforms, in the same order: `tests/core/test_merge_write.py` compares them) in
0.6 ms: values go straight into the raw protobuf, and only the types a sample never
holds (datetimes, bytes, references…) go through the library's own encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from google.cloud.firestore_v1 import _helpers, transforms
from google.cloud.firestore_v1.base_batch import BaseBatch
from google.cloud.firestore_v1.field_path import render_field_path
from google.cloud.firestore_v1.types import write
from google.protobuf import struct_pb2

_Write = write.Write.pb()
_Transform = write.DocumentTransform.FieldTransform.pb()
_REQUEST_TIME = write.DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME
_OTHER_SENTINELS = (
    transforms.Sentinel,  # DELETE_FIELD (SERVER_TIMESTAMP is checked first)
    transforms.ArrayRemove,
    transforms.Increment,
    transforms.Maximum,
    transforms.Minimum,
)


@lru_cache(maxsize=4096)
def _segment(name: str) -> str:
    """One field name as a field path segment (backquoted unless simple)."""
    return str(render_field_path([name]))


def _path(parts: tuple[str, ...]) -> str:
    return ".".join(_segment(part) for part in parts)


def _encode(value: Any, into: Any) -> None:
    """Encode a value into a raw `Value` protobuf."""
    if value is None:
        into.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):  # before int: a bool is an int
        into.boolean_value = value
    elif isinstance(value, int):
        into.integer_value = value
    elif isinstance(value, float):
        into.double_value = value
    elif isinstance(value, str):
        into.string_value = value
    elif isinstance(value, dict):
        into.map_value.SetInParent()  # an empty map is still a map
        fields = into.map_value.fields
        for key, item in value.items():
            _encode(item, fields[key])
    else:
        into.CopyFrom(_helpers.encode_value(value)._pb)


def merge_write(document_path: str, data: Mapping[str, Any]) -> Any:
    """The raw `Write` of `set(data, merge=True)` on `document_path` (the full resource
    name): every leaf path in the update mask, SERVER_TIMESTAMP and ArrayUnion leaves
    as transforms. Other sentinels (DELETE_FIELD, Increment…) are refused: this path
    never needs them, and the library's rules for them are its own."""
    pb = _Write()
    pb.update.name = document_path
    leaves: list[tuple[str, ...]] = []
    stamps: list[tuple[str, ...]] = []
    unions: list[tuple[tuple[str, ...], Any]] = []

    def walk(mapping: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in mapping.items():
            path = (*prefix, key)
            if value is transforms.SERVER_TIMESTAMP:
                stamps.append(path)
            elif isinstance(value, transforms.ArrayUnion):
                unions.append((path, value.values))
            elif isinstance(value, _OTHER_SENTINELS):
                raise TypeError(f"{_path(path)}: merge_write does not build {value!r}")
            elif isinstance(value, dict) and value:
                walk(value, path)
            else:
                leaves.append(path)
                target = pb.update.fields
                for part in prefix:
                    target = target[part].map_value.fields
                _encode(value, target[key])

    walk(data, ())
    pb.update_mask.field_paths.extend(_path(path) for path in sorted(leaves))
    transformed = [(path, None) for path in stamps] + unions
    for path, values in sorted(transformed, key=lambda item: item[0]):
        field = _Transform(field_path=_path(path))
        if values is None:
            field.set_to_server_value = _REQUEST_TIME
        else:
            for item in values:
                _encode(item, field.append_missing_elements.values.add())
        pb.update_transforms.append(field)
    return pb


def add_merge_write(batch: BaseBatch, reference: Any, data: Mapping[str, Any]) -> None:
    """`batch.set(reference, data, merge=True)`, with the write built by `merge_write`."""
    batch._add_write_pbs([merge_write(reference._document_path, data)])
    batch._document_references[reference._document_path] = reference
