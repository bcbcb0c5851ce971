"""Prompt grammars: templates with slots and paraphrase alternatives, rendered in bulk.

The grammars are data (``data/grammar/<language>.json`` plus the language-neutral
``common.json``). A template is text with two kinds of markup:

* ``{name}``: a slot, filled from the vocabulary list ``name`` of the template's language (or of
  ``common.json``). Entries of ordinary lists are plain text (code, JSON and maths keep their
  brackets); entries of lists whose name starts with ``@`` are markup themselves;
* ``[a|b|c]``: a paraphrase alternative, one of the options (an option may be empty).

Markup nests: ``@`` vocabulary entries and options may contain slots and alternatives.
``{{``, ``}}``, ``[[`` and ``]]`` stand for literal brackets.

For speed, a template is compiled once into a sequence of *pools* (a literal is a pool of one);
rendering a column of events is then one random index into each pool and a string concatenation,
all in Polars. Nested markup inside a pool entry is expanded at compile time into a fixed number of
variants, so the per-event cost does not depend on how rich the grammar is, while the number of
distinct prompts a template can produce is the product of its pool sizes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from distillscan.simulate.data import read_json
from distillscan.simulate.rng import Rng

#: Variants produced at compile time for a pool entry that holds nested markup.
NESTED_VARIANTS = 12
#: Marker in wrapper templates where the wrapped prompt goes.
BODY = "{BODY}"


class GrammarError(ValueError):
    """A grammar data file is malformed (a bug in the shipped data, caught by the tests)."""


@dataclass(frozen=True, slots=True)
class Literal:
    """Plain text."""

    text: str


@dataclass(frozen=True, slots=True)
class Slot:
    """A vocabulary slot ``{name}``."""

    name: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A paraphrase alternative ``[a|b|c]``; each option is itself a parsed sequence."""

    options: tuple[tuple[Node, ...], ...]


Node = Literal | Slot | Choice


def parse(text: str) -> tuple[Node, ...]:
    """Parse template markup into nodes.

    Raises:
        GrammarError: unbalanced brackets.
    """
    nodes, end = _parse_sequence(text, 0, top=True)
    if end != len(text):  # pragma: no cover - _parse_sequence consumes everything at top level
        raise GrammarError(f"unexpected {text[end]!r} in {text!r}")
    return nodes


def _parse_sequence(text: str, pos: int, *, top: bool) -> tuple[tuple[Node, ...], int]:
    """Parse until the end of ``text`` (top level) or an unescaped ``|`` / ``]``."""
    nodes: list[Node] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            nodes.append(Literal("".join(literal)))
            literal.clear()

    while pos < len(text):
        char = text[pos]
        pair = text[pos : pos + 2]
        if pair in ("{{", "}}", "[[", "]]"):
            literal.append(char)
            pos += 2
        elif char == "{":
            end = text.find("}", pos)
            if end < 0:
                raise GrammarError(f"unclosed '{{' in {text!r}")
            flush()
            nodes.append(Slot(text[pos + 1 : end]))
            pos = end + 1
        elif char == "[":
            flush()
            options: list[tuple[Node, ...]] = []
            pos += 1
            while True:
                option, pos = _parse_sequence(text, pos, top=False)
                options.append(option)
                if pos >= len(text):
                    raise GrammarError(f"unclosed '[' in {text!r}")
                if text[pos] == "]":
                    pos += 1
                    break
                pos += 1  # the '|'
            nodes.append(Choice(tuple(options)))
        elif not top and char in "|]":
            break
        elif top and char in "|]":
            raise GrammarError(f"unexpected {char!r} outside [...] in {text!r}")
        else:
            literal.append(char)
            pos += 1
    flush()
    return tuple(nodes), pos


def is_plain(nodes: tuple[Node, ...]) -> bool:
    """True when the nodes are one literal (or nothing): no slots or alternatives."""
    return all(isinstance(node, Literal) for node in nodes)


def estimate_tokens_column(texts: pl.Series) -> pl.Series:
    """Rough tokenizer-free token counts, from character and byte counts.

    A Latin character is one byte (~0.25 tokens), a Cyrillic one two bytes, a CJK one three
    (~0.9 tokens): ``chars / 4 + extra_bytes * 0.33`` matches both within the precision needed.
    """
    chars = texts.str.len_chars().cast(pl.Float64)
    extra = texts.str.len_bytes().cast(pl.Float64) - chars
    return (chars / 4.0 + extra * 0.33).alias("tokens")


@dataclass(slots=True)
class LanguagePack:
    """One language's grammar file."""

    language: str
    vocab: dict[str, list[str]]
    families: dict[str, dict[str, Any]]
    wrappers: dict[str, list[str]]
    system: dict[str, list[str]]
    followups: dict[str, list[str]]


def load_language(language: str) -> LanguagePack:
    """Load ``data/grammar/<language>.json``."""
    data = read_json("grammar", f"{language}.json")
    return LanguagePack(
        language=language,
        vocab=data.get("vocab", {}),
        families=data.get("families", {}),
        wrappers=data.get("wrappers", {}),
        system=data.get("system", {}),
        followups=data.get("followups", {}),
    )


def load_common() -> dict[str, Any]:
    """Load the language-neutral ``data/grammar/common.json``."""
    return read_json("grammar", "common.json")


@dataclass(slots=True)
class Grammar:
    """All shipped languages, with vocabulary lookup and Python-side rendering."""

    languages: dict[str, LanguagePack]
    common_vocab: dict[str, list[str]]
    common: dict[str, Any]
    _parsed: dict[str, tuple[Node, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, languages: tuple[str, ...]) -> Grammar:
        """Load the grammar files of ``languages`` and ``common.json``."""
        common = load_common()
        return cls({lang: load_language(lang) for lang in languages}, common["vocab"], common)

    def parsed(self, text: str) -> tuple[Node, ...]:
        """Parse ``text`` (cached)."""
        nodes = self._parsed.get(text)
        if nodes is None:
            nodes = parse(text)
            self._parsed[text] = nodes
        return nodes

    def vocab(self, language: str, name: str) -> list[str]:
        """The vocabulary list ``name`` for ``language`` (falling back to ``common.json``).

        Raises:
            GrammarError: no such list.
        """
        pack = self.languages.get(language)
        if pack is not None and name in pack.vocab:
            return pack.vocab[name]
        if name in self.common_vocab:
            return self.common_vocab[name]
        raise GrammarError(f"unknown slot {{{name}}} in language {language!r}")

    def render(self, text: str, language: str, rnd: random.Random) -> str:
        """Render ``text`` once, choosing every slot and alternative with ``rnd``."""
        return self._render_nodes(self.parsed(text), language, rnd, depth=0)

    def _render_nodes(
        self, nodes: tuple[Node, ...], language: str, rnd: random.Random, depth: int
    ) -> str:
        if depth > 8:
            raise GrammarError("grammar markup nested more than 8 levels (a cycle?)")
        out: list[str] = []
        for node in nodes:
            if isinstance(node, Literal):
                out.append(node.text)
            elif isinstance(node, Slot):
                entry = rnd.choice(self.vocab(language, node.name))
                if node.name.startswith("@"):
                    entry = self._render_nodes(self.parsed(entry), language, rnd, depth + 1)
                out.append(entry)
            else:
                option = rnd.choice(node.options)
                out.append(self._render_nodes(option, language, rnd, depth + 1))
        return "".join(out)


class TextBank:
    """Compiled templates and the one string table every rendered text is gathered from.

    Build it by adding templates (:meth:`template`), fixed strings (:meth:`literal`) and uniform
    pools of strings (:meth:`pool`), then call :meth:`freeze` before rendering.
    """

    def __init__(self, grammar: Grammar, rnd: random.Random) -> None:
        self.grammar = grammar
        self._rnd = rnd
        self._strings: list[str] = []
        self._string_ids: dict[str, int] = {}
        self._pools: list[tuple[int, int]] = []  # (first string id, count), strings contiguous
        self._pool_ids: dict[tuple[str, ...], int] = {}
        self._templates: list[tuple[int, ...]] = []
        self._template_ids: dict[tuple[str, str], int] = {}
        self.empty_pool = self._pool_of([""])
        self._frozen: _Frozen | None = None

    # --- building ------------------------------------------------------------------------

    def _string(self, text: str) -> int:
        """Id of ``text`` in the string table (a new one for every call: pools are contiguous)."""
        self._strings.append(text)
        return len(self._strings) - 1

    def _pool_of(self, items: list[str]) -> int:
        key = tuple(items)
        found = self._pool_ids.get(key)
        if found is not None:
            return found
        first = len(self._strings)
        for item in items:
            self._string(item)
        self._pools.append((first, len(items)))
        self._pool_ids[key] = len(self._pools) - 1
        self._frozen = None
        return len(self._pools) - 1

    def pool(self, items: list[str]) -> int:
        """A pool of plain strings, drawn uniformly; returns its pool id."""
        if not items:
            raise GrammarError("an empty pool")
        return self._pool_of(items)

    def literal(self, text: str) -> int:
        """A pool holding exactly ``text`` (a fixed system prompt, an app's template)."""
        return self._pool_of([text])

    def pool_strings(self, pool: int) -> list[str]:
        """The strings of a pool."""
        first, count = self._pools[pool]
        return self._strings[first : first + count]

    def _expand(self, nodes: tuple[Node, ...], language: str) -> list[str]:
        """Concrete variants of markup that is not plain text."""
        if is_plain(nodes):
            return ["".join(n.text for n in nodes if isinstance(n, Literal))]
        variants = {
            self.grammar._render_nodes(nodes, language, self._rnd, depth=1)
            for _ in range(NESTED_VARIANTS * 2)
        }
        return sorted(variants)[: NESTED_VARIANTS * 2]

    def _slot_pool(self, name: str, language: str) -> int:
        if not name.startswith("@"):
            return self._pool_of(list(self.grammar.vocab(language, name)))
        entries: list[str] = []
        for entry in self.grammar.vocab(language, name):
            entries.extend(self._expand(self.grammar.parsed(entry), language))
        return self._pool_of(entries)

    def _choice_pool(self, node: Choice, language: str) -> int:
        entries: list[str] = []
        for option in node.options:
            entries.extend(self._expand(option, language))
        return self._pool_of(entries)

    def template(self, text: str, language: str) -> int:
        """Compile ``text`` (markup, no ``{BODY}``) in ``language``; returns its template id."""
        key = (text, language)
        found = self._template_ids.get(key)
        if found is not None:
            return found
        parts: list[int] = []
        pending: list[str] = []
        for node in self.grammar.parsed(text):
            if isinstance(node, Literal):
                pending.append(node.text)
                continue
            if pending:
                parts.append(self._pool_of(["".join(pending)]))
                pending = []
            if isinstance(node, Slot):
                parts.append(self._slot_pool(node.name, language))
            else:
                parts.append(self._choice_pool(node, language))
        if pending:
            parts.append(self._pool_of(["".join(pending)]))
        self._templates.append(tuple(parts) or (self.empty_pool,))
        self._template_ids[key] = len(self._templates) - 1
        self._frozen = None
        return len(self._templates) - 1

    def wrapper(self, text: str, language: str) -> tuple[int, int]:
        """Compile a wrapper ``prefix{BODY}suffix``; returns (prefix, suffix) template ids.

        Raises:
            GrammarError: the wrapper does not hold exactly one ``{BODY}``.
        """
        if text.count(BODY) != 1:
            raise GrammarError(f"wrapper needs exactly one {BODY}: {text!r}")
        prefix, suffix = text.split(BODY)
        return self.template(prefix, language), self.template(suffix, language)

    # --- rendering -----------------------------------------------------------------------

    def freeze(self) -> None:
        """Build the Polars tables used by :meth:`render` (call after the last addition)."""
        if self._frozen is not None:
            return
        escaped = [json.dumps(s, ensure_ascii=False)[1:-1] for s in self._strings]
        raw = pl.Series(self._strings, dtype=pl.String)
        width = max(len(t) for t in self._templates)
        flat: list[int] = []
        for parts in self._templates:
            flat.extend(parts + (self.empty_pool,) * (width - len(parts)))
        self._frozen = _Frozen(
            escaped=pl.Series("escaped", escaped, dtype=pl.String),
            tokens=estimate_tokens_column(raw),
            pool_first=pl.Series("first", [p[0] for p in self._pools], dtype=pl.Int64),
            pool_count=pl.Series("count", [p[1] for p in self._pools], dtype=pl.Int64),
            template_parts=pl.Series("parts", flat, dtype=pl.Int64),
            template_width=pl.Series("width", [len(t) for t in self._templates], dtype=pl.Int64),
            width=width,
        )

    @property
    def frozen(self) -> _Frozen:
        """The tables built by :meth:`freeze`."""
        if self._frozen is None:
            raise RuntimeError("TextBank.freeze() must be called before rendering")
        return self._frozen

    def strings_of_pools(self, pools: pl.Series, uniforms: pl.Series) -> pl.Series:
        """For each row, a string id drawn uniformly from pool ``pools[i]``."""
        f = self.frozen
        first = f.pool_first.gather(pools)
        count = f.pool_count.gather(pools)
        return first + (uniforms * count.cast(pl.Float64)).floor().cast(pl.Int64)

    def text(self, string_ids: pl.Series) -> pl.Series:
        """JSON-escaped text (no quotes) of string ids."""
        return self.frozen.escaped.gather(string_ids)

    def tokens(self, string_ids: pl.Series) -> pl.Series:
        """Estimated tokens of string ids."""
        return self.frozen.tokens.gather(string_ids)

    def render(self, templates: pl.Series, rng: Rng) -> tuple[pl.Series, pl.Series]:
        """Render one text per row: JSON-escaped text (no quotes) and estimated tokens.

        Args:
            templates: Template id per row.
            rng: The stream the slot and alternative choices are drawn from.
        """
        f = self.frozen
        n = len(templates)
        if n == 0:
            return pl.Series([], dtype=pl.String), pl.Series([], dtype=pl.Float64)
        # one gather over every (row, part) actually used; rows' parts are contiguous, so the
        # texts are joined per row through list offsets, without grouping
        widths = f.template_width.gather(templates)
        offsets = pl.concat([pl.Series([0], dtype=pl.Int64), widths.cum_sum()])
        positions = (
            pl.DataFrame({"t": templates, "w": widths})
            .select(
                (pl.col("t") * f.width).repeat_by("w").explode() + pl.int_ranges(0, "w").explode()
            )
            .to_series()
        )
        pools = f.template_parts.gather(positions)
        ids = self.strings_of_pools(pools, rng.uniform(len(positions)))
        arrow_offsets = offsets.cast(pl.Int32).to_arrow()
        text = pl.Series(
            pa.ListArray.from_arrays(arrow_offsets, f.escaped.gather(ids).to_arrow())
        ).list.join("")
        tokens = pl.Series(
            pa.ListArray.from_arrays(arrow_offsets, f.tokens.gather(ids).to_arrow())
        ).list.sum()
        return text.alias("text"), tokens.alias("tokens")

    def render_where(
        self, templates: pl.Series, mask: pl.Series, rng: Rng
    ) -> tuple[pl.Series, pl.Series]:
        """:meth:`render` for the rows where ``mask`` holds; empty text and 0 tokens elsewhere.

        Most rows carry no wrapper: rendering only the others saves most of the work.
        """
        n = len(templates)
        where = mask.arg_true()
        text, tokens = self.render(templates.gather(where), rng)
        full_text = pl.repeat("", n, eager=True, dtype=pl.String).scatter(where, text)
        full_tokens = pl.repeat(0.0, n, eager=True, dtype=pl.Float64).scatter(where, tokens)
        return full_text, full_tokens


@dataclass(frozen=True, slots=True)
class _Frozen:
    escaped: pl.Series
    tokens: pl.Series
    pool_first: pl.Series
    pool_count: pl.Series
    template_parts: pl.Series
    template_width: pl.Series
    width: int
