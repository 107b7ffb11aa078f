"""tally.yaml as text: a key given twice, an alias bomb, a recursive alias or absurd
nesting is refused with its line, through `tally validate` as a user runs it."""

from __future__ import annotations

import tracemalloc

import pytest
from tally import config_yaml
from tally.cli import main
from tally.config import ConfigError, config_from_text
from yaml.composer import Composer

SOURCE = """\
sources:
  - id: clicks
    kind: json
    url: https://x.test/c
    query: count
    every: 5m
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_text(text, "tally.yaml")
    return caught.value.problems


def validate(capsys, tmp_path, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "tally.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err.replace(str(path), "tally.yaml").splitlines()


def test_a_key_given_twice_in_a_source_names_both_lines(capsys, tmp_path):
    text = SOURCE + "    url: https://x.test/other\n"
    code, err = validate(capsys, tmp_path, text)
    assert code == 1
    assert err == [
        "error: tally.yaml:7:5: source 'clicks': field 'url': given twice (lines 4 and 7); "
        "YAML would keep only the last, so remove one"
    ]


def test_two_sources_lists_are_an_error_not_half_a_config(capsys, tmp_path):
    text = SOURCE + "title: t\nsources: []\n"
    code, err = validate(capsys, tmp_path, text)
    assert code == 1
    assert err == [
        "error: tally.yaml:8:1: config: field 'sources': given twice (lines 1 and 8); "
        "YAML would keep only the last, so remove one"
    ]


def test_every_key_given_twice_is_listed_in_line_order():
    text = (
        "title: a\n"
        "sources:\n"
        "  - kind: json\n"
        "    url: https://x.test/a\n"
        "    url: https://x.test/b\n"
        "    alerts: {above: 1, above: 2}\n"
        "title: b\n"
    )
    assert problems_of(text) == [
        "tally.yaml:5:5: source #1: field 'url': given twice (lines 4 and 5); "
        "YAML would keep only the last, so remove one",
        "tally.yaml:6:24: source #1: field 'alerts.above': given twice (both on line 6); "
        "YAML would keep only the last, so remove one",
        "tally.yaml:7:1: config: field 'title': given twice (lines 1 and 7); "
        "YAML would keep only the last, so remove one",
    ]


def test_a_merge_key_may_be_overridden_as_yaml_means_it():
    text = (
        "defaults: &defaults {kind: json, query: count, every: 5m}\n"
        "sources:\n"
        "  - <<: *defaults\n"
        "    id: clicks\n"
        "    url: https://x.test/c\n"
        "    every: 10m\n"
    )
    with pytest.raises(ConfigError) as caught:  # `defaults:` is no field of tally.yaml
        config_from_text(text, "tally.yaml")
    assert caught.value.problems == ["config: field 'defaults': unknown field (a typo?)"]
    data = config_yaml.read_yaml(text, "tally.yaml")
    assert data["sources"][0]["every"] == "10m"


def bomb(indent: str, levels: int = 9, width: int = 9) -> str:
    """The billion laughs as a YAML list at `indent`: `width ** levels` strings from a
    few hundred characters."""
    lines = [f"{indent}- &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"{indent}- &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("    every:\n", "source 'clicks': field 'every.5.1'"),
        ("    schedule:\n", "source 'clicks': field 'schedule.5.1'"),
        ("    headers:\n      x-bomb:\n", "source 'clicks': field 'headers.x-bomb.5.1'"),
        ("    alerts:\n      change:\n        window:\n", "field 'alerts.change.window.5.1'"),
    ],
)
def test_an_alias_bomb_anywhere_is_refused_before_it_is_built(where, field):
    indent = " " * (where.count("\n") * 2 + 2)
    text = SOURCE.replace("    every: 5m\n", "") + where + bomb(indent)
    # the 6th list: with the five before it, its second *l4 (66,430 values) is past the bound
    line = text.count("\n") - 3
    tracemalloc.start()
    try:
        problems = problems_of(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [problem] = problems
    assert problem.startswith(f"tally.yaml:{line}:")
    assert problem.endswith(
        f"{field}: the config expands to more than 200,000 values through the alias *l4; "
        "no config needs that many (a YAML alias bomb?)"
    )
    # 9**9 strings stand behind it; composing stops at the alias and builds nothing:
    # what it costs does not depend on what the bomb would have expanded to.
    assert peak < 1_000_000, peak


def test_tally_validate_refuses_a_bomb_with_its_line(capsys, tmp_path):
    code, err = validate(capsys, tmp_path, "laughs:\n" + bomb("  ") + SOURCE.replace("5m", "*l8"))
    assert code == 1
    assert err == [
        "error: tally.yaml:7:15: config: field 'laughs.5.1': the config expands to more than "
        "200,000 values through the alias *l4; no config needs that many (a YAML alias bomb?)"
    ]


def test_a_bomb_under_no_field_is_refused_all_the_same():
    text = "".join(
        f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 3 if level else ['lol'] * 3)}]\n"
        for level in range(12)
    )
    [problem] = problems_of(text)
    assert problem.startswith("tally.yaml:11:")  # l10's first *l9
    assert "config: field 'l10.0': the config expands to more than 200,000 values" in problem


def test_a_long_string_repeated_by_aliases_is_counted_by_its_characters():
    text = f"big: &big {'x' * 100_000}\nsources: [{', '.join(['*big'] * 50)}]\n"
    [problem] = problems_of(text)
    assert problem.startswith("tally.yaml:2:")
    assert "the config expands to more than 4,000,000 characters through the alias *big" in (
        problem
    )


def test_a_config_that_uses_aliases_sensibly_loads():
    text = "alerts: &alerts {stale_after: 1h, above: 100}\n" + "".join(
        f"x{n}: &s{n} {{id: s{n}, kind: json, url: 'https://x.test/{n}', query: a, every: 5m,"
        f" alerts: *alerts}}\n"
        for n in range(3)
    )
    data = config_yaml.read_yaml(text, "tally.yaml")
    assert data["x2"]["alerts"] == {"stale_after": "1h", "above": 100}


def test_a_recursive_alias_and_deep_nesting_are_refused_with_their_line():
    assert problems_of("title: t\nsources: &s [*s]\n") == [
        "tally.yaml:2:14: source #1: the alias *s is inside the value it names (a recursive alias)"
    ]
    [problem] = problems_of("title: " + "[" * 40 + "]" * 40 + "\n")
    assert problem.startswith("tally.yaml:1:39: config: field 'title.0.0.")
    assert problem.endswith(": nested more than 32 levels deep; no config field is")


def test_a_text_too_large_for_any_config_is_refused_before_it_is_read():
    assert problems_of("#" * 4_000_001) == [
        "tally.yaml: 4,000,001 characters; a config has at most 4,000,000"
    ]


def test_a_500_source_config_is_far_inside_the_bounds():
    """The bounds are far above the largest config tally is sized for."""
    text = "sources:\n" + "".join(
        f"  - id: s{n}\n    name: Source {n}\n    kind: http\n    url: https://x.test/{n}\n"
        f"    every: 5m\n    expect_status: [200]\n"
        f"    alerts: {{stale_after: 1h, above: 10}}\n"
        for n in range(500)
    )
    loader = config_yaml._BoundedLoader(text)
    try:
        Composer.get_single_node(loader)
    finally:
        loader.dispose()
    assert loader.values == 10_003  # 20 a source; the root, its key `sources` and the list
    assert loader.values * 10 < config_yaml.MAX_VALUES
    assert loader.characters * 10 < config_yaml.MAX_CHARACTERS
    assert len(config_from_text(text, "tally.yaml").sources) == 500
