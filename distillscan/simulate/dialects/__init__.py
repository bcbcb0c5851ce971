"""Output dialects: the same events serialised as each supported export format."""

from __future__ import annotations

from distillscan.simulate.content import ContentModel
from distillscan.simulate.dialects.base import Dialect
from distillscan.simulate.dialects.canonical import Canonical

DIALECTS: dict[str, type[Dialect]] = {
    "canonical": Canonical,
}


def make_dialect(name: str, content: ContentModel, image_data: list[str]) -> Dialect:
    """The dialect called ``name``."""
    return DIALECTS[name](content, image_data)
