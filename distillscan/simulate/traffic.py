"""Expanding planned segments into events: timestamps, conversations, accounts, content.

Everything here works on whole columns (one Polars operation per attribute for a whole slice of
the day), never event by event. Decisions that hold for a whole conversation (the topic, the
wrapper, the system prompt, the parameters, the model, the account of a load-balanced pool) are
drawn once per conversation and broadcast to its turns.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from distillscan.simulate.config import MODELS_BEFORE, NEW_MODEL, SimulationConfig
from distillscan.simulate.content import (
    FAMILIES,
    IMAGES,
    PARAM_FIELDS,
    STYLES,
    TOOL_KINDS,
    TOOL_SET_OF_KIND,
    ContentModel,
)
from distillscan.simulate.data import read_json
from distillscan.simulate.population import Population
from distillscan.simulate.rng import Rng, exponential, normal
from distillscan.simulate.timing import DIURNAL_NAMES, US_PER_SECOND

#: Tool kinds in a fixed order (index stored per event; -1 for none).
TOOL_KIND_NAMES: tuple[str, ...] = tuple(TOOL_SET_OF_KIND)
#: Tool sets in a fixed order (index stored per event; -1 for none).
TOOL_SET_NAMES: tuple[str, ...] = (
    "coding_agent",
    "orchestrator",
    "functions",
    "support_bot",
    "computer",
)
#: Previous turns a client sends back with each request (older ones are dropped).
HISTORY_TURNS = 6
#: Error statuses and their relative frequency.
ERRORS: tuple[tuple[int, float], ...] = ((429, 0.6), (500, 0.15), (529, 0.25))
#: Image payloads are short stand-ins (a real export would hold the full base64 data).
IMAGE_STANDINS = 12
#: First octets of residential ISP ranges, for exits a proxy pool hands out once.
RESIDENTIAL_OCTETS = pl.Series("octet", read_json("infra.json")["residential_octets"], pl.Int64)

_ASSIGN = {"single": 0, "round_robin": 1, "random": 2}


class Identities(Protocol):
    """How an output format names accounts, organisations, keys and clients."""

    def account_identity(self, account_id: str, org_id: str) -> str:
        """The account's name in the logs."""
        ...

    def org_identity(self, org_id: str) -> str:
        """The organisation's name in the logs."""
        ...

    def key_identity(self, key: str) -> str:
        """The API key's name in the logs."""
        ...

    def agent_identity(self, agent: str) -> str:
        """The user agent as the logs show it."""
        ...


def image_standins(seed: int) -> list[str]:
    """Short base64 stand-ins for image payloads (a real export holds the full data)."""
    rnd = Rng(seed, "images").py
    return [base64.b64encode(rnd.randbytes(45)).decode("ascii") for _ in range(IMAGE_STANDINS)]


_PLANNERS = ("sessions", "stream", "burst")


def persona_frame(population: Population, content: ContentModel) -> tuple[pl.DataFrame, pl.Series]:
    """One row per persona with every numeric attribute the generator uses, and the flat
    list of account pools (``pool_off``/``pool_n`` index into it)."""
    pools: list[int] = []
    rows: dict[str, list[object]] = {name: [] for name in _PERSONA_COLUMNS}
    for p in population.personas:
        rows["persona"].append(p.index)
        rows["group"].append(p.group)
        rows["kind"].append(p.kind)
        rows["is_campaign"].append(p.label == "campaign")
        rows["end_user_id"].append(p.end_user_id)
        rows["pool_off"].append(len(pools))
        rows["pool_n"].append(len(p.accounts))
        pools.extend(p.accounts)
        rows["assign"].append(_ASSIGN[p.assign])
        rows["planner"].append(p.planner)
        rows["rate"].append(p.rate)
        rows["p_active"].append(p.p_active)
        rows["first_day"].append(p.first_day)
        rows["last_day"].append(p.last_day)
        rows["weekend"].append(p.weekend)
        rows["tz"].append(p.tz)
        rows["diurnal_id"].append(DIURNAL_NAMES.index(p.diurnal))
        rows["session_events"].append(p.session_events)
        rows["gap_seconds"].append(p.gap_seconds)
        rows["gap_cv"].append(p.gap_cv)
        rows["conversation_turns"].append(max(1.0, p.conversation_turns))
        rows["schedule"].append(p.schedule)
        rows["release_burst"].append(p.release_burst)
        rows["mix"].append(p.mix)
        rows["styles"].append(p.styles)
        rows["system_pool"].append(p.system_pool)
        rows["system_share"].append(p.system_share if p.system_pool >= 0 else 0.0)
        rows["tools_set"].append(TOOL_SET_NAMES.index(p.tools) if p.tools else -1)
        rows["tools_share"].append(p.tools_share if p.tools else 0.0)
        rows["param_style"].append(list(content.param_styles).index(p.param_style))
        rows["models"].append(p.models)
        rows["adopt_delay_h"].append(p.adopt_delay_h)
        rows["adopt_ramp_h"].append(max(0.1, p.adopt_ramp_h))
        rows["adopt_day1"].append(p.adopt_day1)
        rows["adopt_plateau"].append(p.adopt_plateau)
        rows["error_rate"].append(p.error_rate)
        rows["operation"].append(p.operation)
    frame = pl.DataFrame(rows, schema=_PERSONA_COLUMNS)
    return frame, pl.Series("pool", pools, dtype=pl.Int64)


_PERSONA_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "persona": pl.Int64,
    "group": pl.String,
    "kind": pl.String,
    "is_campaign": pl.Boolean,
    "end_user_id": pl.String,
    "pool_off": pl.Int64,
    "pool_n": pl.Int64,
    "assign": pl.Int64,
    "planner": pl.String,
    "rate": pl.Float64,
    "p_active": pl.Float64,
    "first_day": pl.Int64,
    "last_day": pl.Int64,
    "weekend": pl.Float64,
    "tz": pl.Int64,
    "diurnal_id": pl.Int64,
    "session_events": pl.Float64,
    "gap_seconds": pl.Float64,
    "gap_cv": pl.Float64,
    "conversation_turns": pl.Float64,
    "schedule": pl.Int64,
    "release_burst": pl.Boolean,
    "mix": pl.Int64,
    "styles": pl.Int64,
    "system_pool": pl.Int64,
    "system_share": pl.Float64,
    "tools_set": pl.Int64,
    "tools_share": pl.Float64,
    "param_style": pl.Int64,
    "models": pl.Int64,
    "adopt_delay_h": pl.Float64,
    "adopt_ramp_h": pl.Float64,
    "adopt_day1": pl.Float64,
    "adopt_plateau": pl.Float64,
    "error_rate": pl.Float64,
    "operation": pl.String,
}


@dataclass(slots=True)
class AccountTables:
    """Per-account attributes and flat pools of addresses, agents and keys."""

    frame: pl.DataFrame  # account, account_id, org_id, ip_off, ip_n, ip_sticky, ip_fresh, ...
    ips: pl.Series
    agents: pl.Series  # JSON-escaped
    keys: pl.Series

    @classmethod
    def build(cls, population: Population, identities: Identities) -> AccountTables:
        """Flatten every account's pools, naming things as the output format does."""
        ips: list[str] = []
        agents: list[str] = []
        keys: list[str] = []
        rows: dict[str, list[object]] = {
            k: []
            for k in (
                "account_id",
                "org_id",
                "ip_off",
                "ip_n",
                "ip_sticky",
                "ip_fresh",
                "ua_off",
                "ua_n",
                "ua_sticky",
                "key_off",
                "key_n",
            )
        }
        for a in population.accounts:
            rows["account_id"].append(identities.account_identity(a.account_id, a.org_id))
            rows["org_id"].append(identities.org_identity(a.org_id))
            rows["ip_off"].append(len(ips))
            rows["ip_n"].append(len(a.ips))
            rows["ip_sticky"].append(a.ip_sticky)
            rows["ip_fresh"].append(a.ip_fresh)
            ips.extend(a.ips)
            rows["ua_off"].append(len(agents))
            rows["ua_n"].append(len(a.user_agents))
            rows["ua_sticky"].append(a.ua_sticky)
            agents.extend(
                json.dumps(identities.agent_identity(u), ensure_ascii=False)[1:-1]
                for u in a.user_agents
            )
            rows["key_off"].append(len(keys))
            rows["key_n"].append(len(a.api_keys))
            keys.extend(identities.key_identity(k) for k in a.api_keys)
        return cls(
            pl.DataFrame(rows),
            pl.Series("ip", ips, dtype=pl.String),
            pl.Series("ua", agents, dtype=pl.String),
            pl.Series("key", keys, dtype=pl.String),
        )


def _pick(
    pool: pl.Series, offset: pl.Series, size: pl.Series, sticky: pl.Series, rng: Rng
) -> pl.Series:
    """From each row's slice of ``pool``: the first entry with probability ``sticky``, else any."""
    n = len(offset)
    use_first = rng.uniform(n) < sticky
    anywhere = (rng.uniform(n) * size.cast(pl.Float64)).floor().cast(pl.Int64)
    index = offset + anywhere.zip_with(~use_first, pl.Series([0] * n, dtype=pl.Int64))
    return pool.gather(index)


def _fresh_addresses(picked: pl.Series, fresh: pl.Series, octets: pl.Series, rng: Rng) -> pl.Series:
    """``picked``, with each row replaced, at its chance ``fresh``, by a random residential
    IPv4 address (about 2^24 per first octet: in practice never the same one twice)."""
    n = len(picked)
    if n == 0 or fresh.max() == 0:
        return picked
    replace = rng.child("use").uniform(n) < fresh
    first = octets.gather((rng.child("octet").u32(n) % len(octets)).cast(pl.Int64))
    rest = rng.child("host").u32(n)
    address = pl.DataFrame({"a": first, "r": rest}).select(
        pl.format(
            "{}.{}.{}.{}",
            pl.col("a"),
            (pl.col("r") // 65536) % 256,
            (pl.col("r") // 256) % 256,
            pl.col("r") % 254 + 1,
        )
    )[:, 0]
    return picked.zip_with(~replace, address)


class EventGenerator:
    """Turns segment frames into event frames ready for a dialect to serialise."""

    def __init__(
        self,
        config: SimulationConfig,
        population: Population,
        content: ContentModel,
        personas: pl.DataFrame,
        pools: pl.Series,
        identities: Identities,
        image_count: int,
    ) -> None:
        self.config = config
        self.content = content
        self.personas = personas
        self.pools = pools
        self.accounts = AccountTables.build(population, identities)
        self.release_us = int(config.release.timestamp()) * US_PER_SECOND
        self.models = pl.Series("model", [*MODELS_BEFORE, NEW_MODEL], dtype=pl.String)
        tool_kind = [
            TOOL_KIND_NAMES.index(TOOL_KINDS[f]) if f in TOOL_KINDS else -1 for f in FAMILIES
        ]
        self.family_tool_kind = pl.Series("k", tool_kind, dtype=pl.Int64)
        self.family_tool_set = pl.Series(
            "s",
            [
                TOOL_SET_NAMES.index(TOOL_SET_OF_KIND[TOOL_KINDS[f]]) if f in TOOL_KINDS else -1
                for f in FAMILIES
            ],
            dtype=pl.Int64,
        )
        self.family_images = pl.Series("i", [IMAGES.get(f, 0) for f in FAMILIES], dtype=pl.Int64)
        self.template_family = pl.Series("f", content.template_family, dtype=pl.Int64)
        self.template_lang = pl.Series("l", content.template_lang, dtype=pl.Int64)
        self.wrapper_prefix = pl.Series("p", content.wrapper_prefix, dtype=pl.Int64)
        self.wrapper_suffix = pl.Series("s", content.wrapper_suffix, dtype=pl.Int64)
        self.empty_template = content.wrapper_prefix[0]
        n_langs = len(content.grammar.languages)
        self.n_langs = n_langs
        # choice-group lookups, flattened
        self.wrapper_groups = pl.Series(
            "wg",
            [content.wrapper_group(s, lang) for s in range(len(STYLES)) for lang in range(n_langs)],
            dtype=pl.Int64,
        )
        self.followup_groups = pl.Series(
            "fg", [content.followup_group(lang) for lang in range(n_langs)], dtype=pl.Int64
        )
        self.response_groups = pl.Series(
            "rg",
            [
                content.response_group(f, lang)
                for f in range(len(FAMILIES))
                for lang in range(n_langs)
            ],
            dtype=pl.Int64,
        )
        self.tool_result_groups = pl.Series(
            "tr", [content.tool_result_group(k) for k in TOOL_KIND_NAMES], dtype=pl.Int64
        )
        self.tool_call_groups = pl.Series(
            "tc", [content.tool_call_group(k) for k in TOOL_KIND_NAMES], dtype=pl.Int64
        )
        styles = list(content.param_styles.values())
        self.param_groups = {
            name: pl.Series(name, [s.groups[name] for s in styles], dtype=pl.Int64)
            for name in PARAM_FIELDS
        }
        self.completion_median = pl.Series(
            "m", [s.completion_median for s in styles], dtype=pl.Float64
        )
        self.completion_sigma = pl.Series(
            "s", [s.completion_sigma for s in styles], dtype=pl.Float64
        )
        max_values = content.param_values["max_tokens"]
        self.max_tokens_value = pl.Series(
            "mt", [int(v) if v is not None else None for v in max_values], dtype=pl.Int64
        )
        self.image_count = image_count

    def generate(self, segments: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        """Events of ``segments`` (any order of rows is fine), one row each, unsorted."""
        events = self._expand(segments, rng.child("expand"))
        conversations = self._conversations(events, rng.child("conversation"))
        return self._events(events, conversations, rng.child("event"))

    # --- timestamps and conversations ------------------------------------------------------

    def _expand(self, segments: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        seg = segments.with_row_index("seg").with_columns(
            rng.uniform(segments.height).alias("seg_u")
        )
        ev = seg.with_columns(pl.int_ranges(0, pl.col("n")).alias("k")).explode("k")
        n = ev.height
        u_gap = rng.uniform(n)
        u_conv = rng.uniform(n)
        ev = ev.with_columns(u_gap.alias("u_gap"), u_conv.alias("u_conv"))
        ev = ev.with_columns(
            pl.when(pl.col("k") == 0)
            .then(0.0)
            .otherwise(
                pl.col("gap_s")
                * ((1.0 - pl.col("gap_cv")) + pl.col("gap_cv") * exponential(pl.col("u_gap")))
            )
            .alias("gap")
        ).with_columns(pl.col("gap").cum_sum().alias("cs"))
        ev = ev.with_columns(
            pl.when(pl.col("k") == 0).then(pl.col("cs")).forward_fill().alias("cs0"),
            ((pl.col("k") == 0) | (pl.col("u_conv") < 1.0 / pl.col("turns"))).alias("new_conv"),
        )
        ev = ev.with_columns(
            (
                (
                    pl.col("start_us")
                    + ((pl.col("cs") - pl.col("cs0")) * US_PER_SECOND).cast(pl.Int64)
                )
                // 1000
                * 1000
            ).alias("ts"),
            pl.col("new_conv").cum_sum().cast(pl.Int64).alias("conv"),
        ).with_row_index("row")
        ev = ev.with_columns(
            pl.when(pl.col("new_conv")).then(pl.col("row")).forward_fill().alias("conv_row"),
            pl.when(pl.col("k") == 0).then(pl.col("conv")).forward_fill().alias("seg_conv"),
        ).with_columns(
            (pl.col("row") - pl.col("conv_row")).cast(pl.Int64).alias("turn"),
            (pl.col("conv") - pl.col("seg_conv")).alias("conv_in_seg"),
        )
        return ev.select("seg", "persona", "ts", "conv", "turn", "conv_in_seg", "seg_u", "new_conv")

    def _conversations(self, events: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        """Per-conversation choices: account, topic, wrapper, system prompt, tools, model..."""
        c = events.filter(pl.col("new_conv")).select(
            "conv", "persona", "ts", "conv_in_seg", "seg_u"
        )
        n = c.height
        p = self.personas.select(
            pl.col(
                "pool_off",
                "pool_n",
                "assign",
                "mix",
                "styles",
                "system_share",
                "system_pool",
                "tools_set",
                "tools_share",
                "param_style",
                "models",
                "adopt_delay_h",
                "adopt_ramp_h",
                "adopt_day1",
                "adopt_plateau",
            ).gather(c["persona"])
        )
        content = self.content
        # account
        pool_n = p["pool_n"]
        rr = (
            (c["seg_u"] * pool_n.cast(pl.Float64)).floor().cast(pl.Int64) + c["conv_in_seg"]
        ) % pool_n
        rand = (rng.uniform(n) * pool_n.cast(pl.Float64)).floor().cast(pl.Int64)
        slot = pl.select(
            pl.when(p["assign"] == 1).then(rr).when(p["assign"] == 2).then(rand).otherwise(0)
        ).to_series()
        account = self.pools.gather(p["pool_off"] + slot)
        # topic and wrapper
        group = content.mixes.draw(p["mix"], rng.uniform(n))
        template = content.template_groups.draw(group, rng.uniform(n))
        family = self.template_family.gather(template)
        lang = self.template_lang.gather(template)
        style = content.style_mixes.draw(p["styles"], rng.uniform(n))
        wrapper = content.wrappers.draw(
            self.wrapper_groups.gather(style * self.n_langs + lang), rng.uniform(n)
        )
        # system prompt
        has_system = (rng.uniform(n) < p["system_share"]) & (p["system_pool"] >= 0)
        system_sid = content.bank.strings_of_pools(p["system_pool"].clip(0, None), rng.uniform(n))
        # tools: the family's own kit, else the persona's habit
        family_set = self.family_tool_set.gather(family)
        own_set = p["tools_set"].zip_with(rng.uniform(n) < p["tools_share"], pl.Series([-1] * n))
        tools_set = family_set.zip_with(family_set >= 0, own_set)
        # parameters
        params = {
            name: content.params.draw(
                self.param_groups[name].gather(p["param_style"]), rng.uniform(n)
            )
            for name in PARAM_FIELDS
        }
        # model: the persona's usual mix until it adopts the release
        base = content.models.draw(p["models"], rng.uniform(n))
        hours = (c["ts"] - self.release_us).cast(pl.Float64) / 3.6e9 - p["adopt_delay_h"]
        ramp = (hours / p["adopt_ramp_h"]).clip(0.0, 1.0)
        share = pl.select(
            pl.when(hours < 0)
            .then(0.0)
            .when(hours < 24)
            .then(p["adopt_day1"] * ramp)
            .otherwise(p["adopt_plateau"] * ramp)
        ).to_series()
        new_model = rng.uniform(n) < share
        model = base.zip_with(~new_model, pl.Series([len(MODELS_BEFORE)] * n, dtype=pl.Int64))
        return pl.DataFrame(
            {
                "conv": c["conv"],
                "account": account,
                "template": template,
                "family": family,
                "lang": lang,
                "wrapper": wrapper,
                "has_system": has_system,
                "system_sid": system_sid,
                "tools_set": tools_set,
                **{f"p_{name}": values for name, values in params.items()},
                "model": model,
            }
        )

    # --- per-event content ------------------------------------------------------------------

    def _events(self, events: pl.DataFrame, conversations: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        content = self.content
        bank = content.bank
        n = events.height
        conv = conversations.select(pl.all().gather(events["conv"] - events["conv"].min()))
        p = self.personas.select(
            "param_style", "error_rate", "end_user_id", "operation", "is_campaign"
        ).select(pl.all().gather(events["persona"]))
        turn = events["turn"]
        first = turn == 0
        family = conv["family"]
        lang = conv["lang"]
        tool_kind = self.family_tool_kind.gather(family)
        agentic = tool_kind >= 0
        kind_index = tool_kind.clip(0, None)
        # the user's text: the topic (first turn), a tool result or a follow-up (later turns)
        tool_result_t = content.tool_results.draw(
            self.tool_result_groups.gather(kind_index), rng.uniform(n)
        )
        followup_t = content.followups.draw(self.followup_groups.gather(lang), rng.uniform(n))
        later_t = tool_result_t.zip_with(agentic, followup_t)
        body_t = conv["template"].zip_with(first, later_t)
        wrapped = first & (conv["wrapper"] > 0)
        prefix_t = self.wrapper_prefix.gather(conv["wrapper"])
        suffix_t = self.wrapper_suffix.gather(conv["wrapper"])
        prefix, prefix_tok = bank.render_where(prefix_t, wrapped, rng.child("prefix"))
        body, body_tok = bank.render(body_t, rng.child("body"))
        suffix, suffix_tok = bank.render_where(suffix_t, wrapped, rng.child("suffix"))
        user_text = (
            pl.DataFrame([prefix.alias("a"), body.alias("b"), suffix.alias("c")])
            .select(pl.concat_str(pl.all()))
            .to_series()
        )
        user_tokens = prefix_tok + body_tok + suffix_tok
        # the response
        response_t = content.responses.draw(
            self.response_groups.gather(family * self.n_langs + lang), rng.uniform(n)
        )
        response, _ = bank.render(response_t, rng.child("response"))
        call = content.tool_call_groups.draw(
            self.tool_call_groups.gather(kind_index), rng.uniform(n)
        )
        # images: on the first turn of vision tasks, in tool results of computer use
        computer = TOOL_KIND_NAMES.index("computer")
        images = self.family_images.gather(family).zip_with(
            first, pl.Series([0] * n, dtype=pl.Int64)
        )
        screenshot = (~first) & (tool_kind == computer)
        image = (rng.uniform(n) * self.image_count).floor().cast(pl.Int64)
        # status and tokens
        error = rng.uniform(n) < p["error_rate"]
        status = self._statuses(rng.uniform(n)).zip_with(
            error, pl.Series([200] * n, dtype=pl.Int64)
        )
        z = normal(pl.lit(rng.uniform(n)), pl.lit(rng.uniform(n)))
        median = self.completion_median.gather(p["param_style"])
        sigma = self.completion_sigma.gather(p["param_style"])
        completion = pl.select((median.log() + sigma * z).exp().round().clip(1, None)).to_series()
        cap = self.max_tokens_value.gather(conv["p_max_tokens"])
        completion = completion.cast(pl.Int64)
        completion = pl.select(
            pl.when(error)
            .then(0)
            .when(cap.is_not_null() & (completion > cap))
            .then(cap)
            .otherwise(completion)
        ).to_series()
        system_tokens = bank.tokens(conv["system_sid"]).zip_with(
            conv["has_system"], pl.Series([0.0] * n)
        )
        frame = pl.DataFrame(
            {
                "ts": events["ts"],
                "conv": events["conv"],
                "turn": turn,
                "persona": events["persona"],
                "account": conv["account"],
                "is_campaign": p["is_campaign"],
                "end_user_id": p["end_user_id"],
                "operation": p["operation"],
                "model": self.models.gather(conv["model"]),
                "system": bank.text(conv["system_sid"]),
                "has_system": conv["has_system"],
                "user_text": user_text,
                "user_tokens": user_tokens,
                "agentic": agentic,
                "tool_result": (~first) & agentic,
                "call": call,
                "images": images,
                "screenshot": screenshot,
                "image": image,
                "response": response,
                "error": error,
                "status": status,
                "tools_set": conv["tools_set"],
                **{f"p_{name}": conv[f"p_{name}"] for name in PARAM_FIELDS},
                "completion_tokens": completion,
                "system_tokens": system_tokens,
            }
        )
        frame = frame.with_columns(rng.hex_ids(n, 16).alias("event_hex"))
        frame = self._infrastructure(frame, rng.child("infra"))
        return self._prompt_tokens(frame)

    def _statuses(self, u: pl.Series) -> pl.Series:
        """An error status per row, drawn by :data:`ERRORS` frequency."""
        total = sum(w for _, w in ERRORS)
        bounds, running = [], 0.0
        for _, weight in ERRORS:
            running += weight / total
            bounds.append(running)
        codes = pl.Series([code for code, _ in ERRORS], dtype=pl.Int64)
        position = pl.Series(bounds).search_sorted(u, side="right").cast(pl.Int64)
        return codes.gather(position.clip(0, len(ERRORS) - 1))

    def _infrastructure(self, frame: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        a = self.accounts.frame.select(pl.all().gather(frame["account"]))
        t = self.accounts
        return frame.with_columns(
            a["account_id"].alias("account_id"),
            a["org_id"].alias("org_id"),
            _fresh_addresses(
                _pick(t.ips, a["ip_off"], a["ip_n"], a["ip_sticky"], rng.child("ip")),
                a["ip_fresh"],
                RESIDENTIAL_OCTETS,
                rng.child("fresh-ip"),
            ).alias("source_ip"),
            _pick(t.agents, a["ua_off"], a["ua_n"], a["ua_sticky"], rng.child("ua")).alias(
                "user_agent"
            ),
            _pick(
                t.keys, a["key_off"], a["key_n"], pl.Series([0.8] * frame.height), rng.child("key")
            ).alias("api_key_id"),
        )

    def _prompt_tokens(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Input tokens: system prompt, history, the new turn, tool definitions and images."""
        exchange = pl.col("user_tokens") + pl.col("completion_tokens").cast(pl.Float64)
        return (
            frame.with_columns(exchange.cum_sum().alias("_cum"))
            .with_columns(
                pl.when(pl.col("turn") == 0)
                .then(pl.col("_cum") - exchange)
                .forward_fill()
                .alias("_base")
            )
            .with_columns(
                (
                    pl.col("_cum")
                    - exchange
                    - pl.col("_base")
                    + pl.col("user_tokens")
                    + pl.col("system_tokens")
                    + pl.when(pl.col("tools_set") >= 0).then(380).otherwise(0)
                    + (pl.col("images") + pl.col("screenshot").cast(pl.Int64)) * 1100
                    + 6
                )
                .round()
                .cast(pl.Int64)
                .alias("prompt_tokens")
            )
            .drop("_cum", "_base")
        )
