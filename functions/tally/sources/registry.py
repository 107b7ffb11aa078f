"""Every source kind tally knows, one line each: the config's union of source models
and `kind_of` are built from this list, so a new kind is its module and one line here."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field

from tally.sources import check, github, html, json_api, rss
from tally.sources.kind import Kind

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        json_api.KIND,
        html.KIND,
        check.KIND,
        github.KIND,
        rss.KIND,
    )
}


def source_union() -> Any:
    """The type of one entry of `sources:`: the kinds' models, told apart by `kind`."""
    models = tuple(kind.model for kind in KINDS.values())
    return Annotated[Union[models], Field(discriminator="kind")]
