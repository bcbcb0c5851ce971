"""Output dialects: the same events serialised as each supported export format."""

from __future__ import annotations

from distillscan.simulate.content import ContentModel
from distillscan.simulate.dialects.anthropic import Anthropic
from distillscan.simulate.dialects.base import Dialect
from distillscan.simulate.dialects.bedrock import Bedrock
from distillscan.simulate.dialects.canonical import Canonical
from distillscan.simulate.dialects.litellm import LiteLLM
from distillscan.simulate.dialects.openai import OpenAI

DIALECTS: dict[str, type[Dialect]] = {
    "canonical": Canonical,
    "openai": OpenAI,
    "anthropic": Anthropic,
    "bedrock": Bedrock,
    "litellm": LiteLLM,
}


def make_dialect(name: str, content: ContentModel, image_data: list[str]) -> Dialect:
    """The dialect called ``name``."""
    return DIALECTS[name](content, image_data)
