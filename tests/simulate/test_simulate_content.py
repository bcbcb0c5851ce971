"""The shipped grammars compile, and the traffic they produce has the properties the detector
must not be able to shortcut: shared vocabulary, several campaign languages, hard negatives."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from distillscan.simulate.choice import ChoiceTable
from distillscan.simulate.content import FAMILIES, LANGUAGES, ContentModel
from distillscan.simulate.grammar import GrammarError, parse
from distillscan.simulate.rng import Rng

Records = Callable[[Path], Iterator[dict[str, Any]]]


def test_markup_parses() -> None:
    nodes = parse("[Explain|Describe] {topic}[ simply|] {{literal}} [[x]]")
    text = "".join(getattr(n, "text", "") for n in nodes)
    assert "{literal}" in text and "[x]" in text
    with pytest.raises(GrammarError):
        parse("[unclosed")
    with pytest.raises(GrammarError):
        parse("stray | bar")


def test_every_template_of_every_language_compiles_and_renders() -> None:
    content = ContentModel.build(Rng(1), ["m"])
    groups = [
        content.template_group(family, language)
        for language in LANGUAGES
        for family in FAMILIES
        if content.has_family(family, language)
    ]
    content.bank.freeze()
    templates = pl.Series(range(len(content.template_family)), dtype=pl.Int64)
    text, tokens = content.bank.render(templates, Rng(2))
    assert text.null_count() == 0 and (tokens > 0).sum() > 0.9 * len(tokens)
    assert len(groups) > 100
    # no unfilled slot: every {name} in a rendered text would be a grammar bug
    slot = re.compile(r"\{[a-z@_]+\}")
    leftovers = [t for t in text.to_list() if slot.search(t)]
    assert leftovers == []


def test_plain_vocabulary_holds_no_markup_meant_as_slots() -> None:
    content = ContentModel.build(Rng(1), ["m"])
    grammar = content.grammar
    names = set(grammar.common_vocab)
    for pack in grammar.languages.values():
        names |= set(pack.vocab)
    slot = re.compile(r"\{(@?[a-z_]+)\}")
    for language, pack in grammar.languages.items():
        for name, entries in [*pack.vocab.items(), *grammar.common_vocab.items()]:
            if name.startswith("@"):
                continue
            for entry in entries:
                used = {m for m in slot.findall(entry) if m in names}
                assert not used, f"{language}:{name} entry {entry!r} uses {used}: name it @{name}"


def test_choice_table_draws_per_row_distributions() -> None:
    table = ChoiceTable()
    always_seven = table.add([7], [1.0])
    split = table.add([1, 2], [1.0, 3.0])
    groups = pl.Series([always_seven, split, split, split], dtype=pl.Int64)
    uniforms = pl.Series([0.99, 0.1, 0.3, 0.99])
    assert table.draw(groups, uniforms).to_list() == [7, 1, 2, 2]


def _language(text: str) -> str:
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"[\u0400-\u04ff]", text):
        return "ru"
    return "latin"


def _text(record: dict[str, Any]) -> str:
    content = record["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(b.get("text") or str(b.get("content", "")) for b in content)


def test_campaigns_write_in_several_languages_and_share_vocabulary(
    small_export: Path, records: Records
) -> None:
    truth = pl.read_csv(small_export / "truth" / "accounts.csv").select("account_id", "label")
    campaign = set(truth.filter(pl.col("label") == "campaign")["account_id"].to_list())
    languages: Counter[str] = Counter()
    campaign_grams: Counter[str] = Counter()
    benign_grams: set[str] = set()
    for record in records(small_export):
        text = _text(record)
        words = text.lower().split()
        grams = {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
        if record["account_id"] in campaign:
            languages[_language(text)] += 1
            campaign_grams.update(grams)
        else:
            benign_grams |= grams
    assert {"zh", "latin"} <= set(languages) and len(languages) >= 3
    shared = sum(n for gram, n in campaign_grams.items() if gram in benign_grams)
    assert shared / sum(campaign_grams.values()) > 0.5


def test_hard_negatives_carry_campaign_like_signals(small_export: Path, records: Records) -> None:
    kinds = dict(
        pl.read_csv(small_export / "truth" / "accounts.csv")
        .select("account_id", "kind")
        .iter_rows()
    )
    by_kind: dict[str, Counter[str]] = {}
    for record in records(small_export):
        seen = by_kind.setdefault(kinds[record["account_id"]], Counter())
        seen["events"] += 1
        seen["step_by_step"] += "step by step" in _text(record).lower()
        seen["n>1"] += (record.get("n") or 1) > 1
        seen["end_user"] += record.get("end_user_id") is not None
    assert by_kind["eval_team"]["step_by_step"] > 0 and by_kind["eval_team"]["n>1"] > 0
    assert by_kind["coding_product"]["end_user"] == by_kind["coding_product"]["events"]
