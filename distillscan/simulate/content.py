"""What requests say: templates by capability and language, styles, system prompts, tools,
parameters and models, organised as choice tables the traffic generator draws from in bulk.

Capabilities ("families") are shared by benign and campaign traffic: a student and a harvesting
script both ask maths questions, an evaluation team and a campaign both write "think step by
step". What differs is the *mix*: how many families one actor covers, in which languages, with
which wrappers and parameters, and whether the same skeletons recur across many accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from distillscan.simulate.choice import ChoiceTable
from distillscan.simulate.data import read_json
from distillscan.simulate.grammar import Grammar, TextBank
from distillscan.simulate.rng import Rng

#: Languages with grammar files; campaign traffic uses en, zh, ru, es and ko.
LANGUAGES: tuple[str, ...] = ("en", "zh", "ru", "es", "ko", "de", "fr", "ja", "pt")

#: Capability families, in a fixed order (their index is stored per template).
FAMILIES: tuple[str, ...] = (
    "chat",
    "writing",
    "knowledge",
    "creative",
    "popular",
    "math",
    "reasoning",
    "coding",
    "agentic_coding",
    "orchestration",
    "tool_use",
    "vision",
    "computer_use",
    "safety_sensitive",
    "grading",
    "summarization",
    "extraction",
    "translation",
    "data_analysis",
    "homework",
    "benchmark",
)

#: Families whose conversations are tool loops, and the tool kind they use.
TOOL_KINDS: dict[str, str] = {
    "agentic_coding": "coding",
    "orchestration": "orchestrator",
    "tool_use": "tools",
    "computer_use": "computer",
}
#: Tool set offered with each tool kind (``common.json`` ``tool_sets``).
TOOL_SET_OF_KIND: dict[str, str] = {
    "coding": "coding_agent",
    "orchestrator": "orchestrator",
    "tools": "functions",
    "computer": "computer",
}
#: Image inputs attached to a family's first turn.
IMAGES: dict[str, int] = {"vision": 1, "computer_use": 1}

#: Prompt wrappers ("styles"); index 0 wraps nothing.
STYLES: tuple[str, ...] = (
    "plain",
    "polite",
    "casual",
    "cot",
    "long",
    "safe_alt",
    "format",
    "brief",
    "rationale",
    "context",
    "explain",  # asks for the reasoning in its own words, no fixed phrase (evasive campaigns)
)

#: Request-parameter fields drawn per event.
PARAM_FIELDS: tuple[str, ...] = ("max_tokens", "temperature", "n", "logprobs", "reasoning")

Flavour = str  # "natural", "structured" or "any"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One pre-rendered tool call an assistant turn makes."""

    name: str
    input: dict[str, Any]


@dataclass(slots=True)
class ParamStyle:
    """Value lists and choice groups for each parameter field of one style."""

    groups: dict[str, int]
    completion_median: float
    completion_sigma: float


@dataclass(slots=True)
class ContentModel:
    """Compiled templates and every choice table the traffic generator draws from."""

    grammar: Grammar
    bank: TextBank
    rng: Rng
    template_family: list[int] = field(default_factory=list)
    template_lang: list[int] = field(default_factory=list)
    template_groups: ChoiceTable = field(default_factory=ChoiceTable)
    mixes: ChoiceTable = field(default_factory=ChoiceTable)
    style_mixes: ChoiceTable = field(default_factory=ChoiceTable)
    wrappers: ChoiceTable = field(default_factory=ChoiceTable)
    wrapper_prefix: list[int] = field(default_factory=list)
    wrapper_suffix: list[int] = field(default_factory=list)
    followups: ChoiceTable = field(default_factory=ChoiceTable)
    responses: ChoiceTable = field(default_factory=ChoiceTable)
    tool_results: ChoiceTable = field(default_factory=ChoiceTable)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_groups: ChoiceTable = field(default_factory=ChoiceTable)
    tool_sets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    params: ChoiceTable = field(default_factory=ChoiceTable)
    param_values: dict[str, list[str | None]] = field(default_factory=dict)
    param_styles: dict[str, ParamStyle] = field(default_factory=dict)
    models: ChoiceTable = field(default_factory=ChoiceTable)
    model_names: list[str] = field(default_factory=list)
    _groups: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    _group_families: dict[int, str] = field(default_factory=dict)
    _wrapper_group: dict[tuple[int, int], int] = field(default_factory=dict)
    _followup_group: dict[int, int] = field(default_factory=dict)
    _response_group: dict[tuple[int, int], int] = field(default_factory=dict)
    _tool_result_group: dict[str, int] = field(default_factory=dict)
    _tool_call_group: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, rng: Rng, model_names: list[str]) -> ContentModel:
        """Load the grammars and compile wrappers, follow-ups, responses, tools and params."""
        grammar = Grammar.load(LANGUAGES)
        model = cls(grammar, TextBank(grammar, rng.child("bank").py), rng)
        model.model_names = list(model_names)
        model._build_wrappers()
        model._build_followups()
        model._build_responses()
        model._build_tools()
        model._build_params()
        return model

    # --- indices --------------------------------------------------------------------------

    @staticmethod
    def lang_index(language: str) -> int:
        """Position of ``language`` in :data:`LANGUAGES`."""
        return LANGUAGES.index(language)

    @staticmethod
    def family_index(family: str) -> int:
        """Position of ``family`` in :data:`FAMILIES`."""
        return FAMILIES.index(family)

    def _family_templates(self, family: str, language: str, flavour: Flavour) -> list[str]:
        pack = self.grammar.languages[language]
        spec = pack.families.get(family, {})
        natural: list[str] = spec.get("natural", [])
        structured: list[str] = spec.get("structured", [])
        if flavour == "natural":
            return natural or structured
        if flavour == "structured":
            return structured or natural
        return natural + structured

    def has_family(self, family: str, language: str) -> bool:
        """True when ``language`` has templates for ``family``."""
        return bool(self._family_templates(family, language, "any"))

    def template_group(
        self,
        family: str,
        language: str,
        flavour: Flavour = "any",
        script: str = "",
        keep: float = 1.0,
    ) -> int:
        """A choice group over the templates of one family and language.

        Args:
            family: Capability family.
            language: Language; falls back to English when it has no templates for the family.
            flavour: ``natural`` (how people write), ``structured`` (how pipelines write) or
                ``any``.
            script: When set, a deterministic subset of the templates (a campaign's "script":
                the skeletons its generator uses), chosen by this name.
            keep: Share of the templates the script keeps (at least one).
        """
        if not self.has_family(family, language):
            language = "en"
        key = (family, language, flavour, f"{script}:{keep:.3f}" if script else "")
        found = self._groups.get(key)
        if found is not None:
            return found
        texts = self._family_templates(family, language, flavour)
        if not texts:
            raise ValueError(f"no templates for family {family!r}")
        if script:
            chooser = self.rng.child("script", script, family, language, flavour).py
            count = max(1, round(len(texts) * keep))
            texts = sorted(chooser.sample(texts, count))
        ids = []
        for text in texts:
            tid = self.bank.template(text, language)
            while len(self.template_family) <= tid:
                self.template_family.append(0)
                self.template_lang.append(0)
            self.template_family[tid] = self.family_index(family)
            self.template_lang[tid] = self.lang_index(language)
            ids.append(tid)
        group = self.template_groups.add(ids, [1.0] * len(ids))
        self._groups[key] = group
        self._group_families[group] = family
        return group

    def mix(
        self,
        weights: dict[tuple[str, str], float],
        flavour: Flavour = "any",
        script: str = "",
        keep: float = 1.0,
        structured_share: float | None = None,
    ) -> int:
        """A content mix: weights over (family, language); returns its group id.

        With ``structured_share`` set, each (family, language) is split into its natural and
        structured templates in that proportion (``flavour`` is then ignored).
        """
        groups: list[int] = []
        group_weights: list[float] = []
        for (family, language), weight in sorted(weights.items()):
            if weight <= 0:
                continue
            if structured_share is None:
                groups.append(self.template_group(family, language, flavour, script, keep))
                group_weights.append(weight)
                continue
            for part, share in (
                ("natural", 1 - structured_share),
                ("structured", structured_share),
            ):
                if share > 0:
                    groups.append(self.template_group(family, language, part, script, keep))
                    group_weights.append(weight * share)
        return self.mixes.add(groups, group_weights)

    def style_mix(self, weights: dict[str, float]) -> int:
        """A distribution over :data:`STYLES` (zero weights allowed); returns its group id."""
        return self.style_mixes.add(
            [STYLES.index(s) for s in weights], [weights[s] for s in weights]
        )

    # --- wrappers, follow-ups, responses -----------------------------------------------------

    def _build_wrappers(self) -> None:
        empty = self.bank.template("", "en")
        self.wrapper_prefix.append(empty)
        self.wrapper_suffix.append(empty)
        for si, style in enumerate(STYLES):
            for li, language in enumerate(LANGUAGES):
                texts = self.grammar.languages[language].wrappers.get(style, [])
                if style == "plain" or not texts:
                    # a style a language has no wrappers for reads as unwrapped: people do not
                    # switch language mid-prompt just to ask for reasoning
                    self._wrapper_group[(si, li)] = self.wrappers.add([0], [1.0])
                    continue
                ids = []
                for text in texts:
                    prefix, suffix = self.bank.wrapper(text, language)
                    self.wrapper_prefix.append(prefix)
                    self.wrapper_suffix.append(suffix)
                    ids.append(len(self.wrapper_prefix) - 1)
                self._wrapper_group[(si, li)] = self.wrappers.add(ids, [1.0] * len(ids))

    def wrapper_group(self, style: int, lang: int) -> int:
        """Choice group of wrappers for a style index and language index."""
        return self._wrapper_group[(style, lang)]

    def _build_followups(self) -> None:
        for li, language in enumerate(LANGUAGES):
            texts = self.grammar.languages[language].followups.get("chat", [])
            source = language if texts else "en"
            texts = texts or self.grammar.languages["en"].followups["chat"]
            ids = [self.bank.template(t, source) for t in texts]
            self._followup_group[li] = self.followups.add(ids, [1.0] * len(ids))

    def followup_group(self, lang: int) -> int:
        """Choice group of chat follow-ups in a language."""
        return self._followup_group[lang]

    def _build_responses(self) -> None:
        for fi, family in enumerate(FAMILIES):
            for li, language in enumerate(LANGUAGES):
                spec = self.grammar.languages[language].families.get(family, {})
                texts = spec.get("responses", [])
                source = language
                if not texts:
                    source = "en"
                    texts = self.grammar.languages["en"].families[family]["responses"]
                ids = [self.bank.template(t, source) for t in texts]
                self._response_group[(fi, li)] = self.responses.add(ids, [1.0] * len(ids))

    def response_group(self, family: int, lang: int) -> int:
        """Choice group of response templates for a family and language index."""
        return self._response_group[(family, lang)]

    # --- tools ---------------------------------------------------------------------------

    def _build_tools(self) -> None:
        common = self.grammar.common
        self.tool_sets = common["tool_sets"]
        rnd = self.rng.child("tool-calls").py
        for kind in TOOL_SET_OF_KIND:
            texts: list[str] = common["tool_results"][kind]
            ids = [self.bank.template(t, "en") for t in texts]
            self._tool_result_group[kind] = self.tool_results.add(ids, [1.0] * len(ids))
            call_ids = []
            for spec in common["tool_calls"][kind]:
                for _ in range(4):
                    rendered = _render_json(spec["input"], self.grammar, rnd)
                    self.tool_calls.append(ToolCall(spec["name"], rendered))
                    call_ids.append(len(self.tool_calls) - 1)
            self._tool_call_group[kind] = self.tool_call_groups.add(call_ids, [1.0] * len(call_ids))

    def tool_result_group(self, kind: str) -> int:
        """Choice group of tool-result templates for a tool kind."""
        return self._tool_result_group[kind]

    def tool_call_group(self, kind: str) -> int:
        """Choice group of tool calls for a tool kind."""
        return self._tool_call_group[kind]

    # --- parameters and models ------------------------------------------------------------

    def _build_params(self) -> None:
        styles: dict[str, dict[str, Any]] = read_json("params.json")["styles"]
        for name in PARAM_FIELDS:
            values: list[str | None] = []
            for spec in styles.values():
                for value in spec[name]:
                    parsed = None if value in ("null", "none") else value
                    if parsed not in values:
                        values.append(parsed)
            self.param_values[name] = values
        for style, spec in styles.items():
            groups = {}
            for name in PARAM_FIELDS:
                options: dict[str, float] = spec[name]
                indices = [
                    self.param_values[name].index(None if v in ("null", "none") else v)
                    for v in options
                ]
                groups[name] = self.params.add(indices, list(options.values()))
            median, sigma = spec["completion"]
            self.param_styles[style] = ParamStyle(groups, float(median), float(sigma))

    def model_mix(self, weights: dict[str, float]) -> int:
        """A distribution over the models available before the release; returns its group."""
        return self.models.add(
            [self.model_names.index(m) for m in weights], [weights[m] for m in weights]
        )


def _render_json(value: Any, grammar: Grammar, rnd: Any) -> Any:
    """Render markup inside the string values of a JSON structure."""
    if isinstance(value, str):
        return grammar.render(value, "en", rnd)
    if isinstance(value, list):
        return [_render_json(v, grammar, rnd) for v in value]
    if isinstance(value, dict):
        return {k: _render_json(v, grammar, rnd) for k, v in value.items()}
    return value
