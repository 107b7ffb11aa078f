"""Ids and channel names are whole slugs: a trailing newline (a YAML `|` block) is not one.

An id names the source's objects in the site bucket (`charts/<id>-recent.png`), and
Cloud Storage refuses a name with a line feed: `tally validate` must say so, not the
first render.
"""

from __future__ import annotations

from tally.cli import main

SOURCE_WITH_A_BLOCK_ID = """\
sources:
  - id: |
      abc
    kind: json
    url: https://x.test/c
    query: count
    every: 5m
"""

CHANNEL_WITH_A_NEWLINE = """\
notify:
  "ops\\n": json://127.0.0.1:9/hook
sources:
  - id: abc
    kind: json
    url: https://x.test/c
    query: count
    every: 5m
"""


def _validate(capsys, tmp_path, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "tally.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", "--config", str(path)])
    out, err = capsys.readouterr()
    assert out == ""
    return code, err.splitlines()


def test_an_id_with_a_trailing_newline_is_refused_by_validate(capsys, tmp_path):
    code, lines = _validate(capsys, tmp_path, SOURCE_WITH_A_BLOCK_ID)
    assert code == 1
    assert lines == [
        "error: source 'abc\\n': field 'id': must be a slug: lowercase letters, digits "
        "and '-', 1-63 characters"
    ]


def test_a_channel_name_with_a_trailing_newline_is_refused_by_validate(capsys, tmp_path):
    code, lines = _validate(capsys, tmp_path, CHANNEL_WITH_A_NEWLINE)
    assert code == 1
    assert lines == [
        "error: config: field 'notify': channel name 'ops\\n' must be a slug: "
        "lowercase letters, digits and '-'"
    ]
