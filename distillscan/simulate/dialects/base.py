"""What every output dialect shares: message history assembly and fragment tables.

A dialect turns an event frame (see :class:`~distillscan.simulate.traffic.EventGenerator`) into
JSON lines shaped like one export format. Text columns arrive JSON-escaped (without quotes), so
a line is assembled with ``concat_str`` from literal pieces and columns, never with a per-event
``json.dumps``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import date
from typing import Any

import polars as pl

from distillscan.simulate.content import PARAM_FIELDS, ContentModel, ToolCall
from distillscan.simulate.traffic import HISTORY_TURNS, TOOL_SET_NAMES


def lit(text: str) -> pl.Expr:
    """A literal string piece."""
    return pl.lit(text, dtype=pl.String)


def quoted(column: str | pl.Expr) -> pl.Expr:
    """A JSON string from an escaped column: ``"<value>"``."""
    expr = pl.col(column) if isinstance(column, str) else column
    return pl.concat_str([lit('"'), expr, lit('"')])


def optional(key: str, value: pl.Expr, present: pl.Expr) -> pl.Expr:
    """``,"key":value`` when ``present``, else nothing."""
    return pl.when(present).then(pl.concat_str([lit(f',"{key}":'), value])).otherwise(lit(""))


def dumps(value: Any) -> str:
    """Compact JSON, as API logs store it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def lookup(column: pl.Expr, mapping: dict[int, str], default: str) -> pl.Expr:
    """``mapping[value]`` for each row of an integer column (``default`` when absent)."""
    return column.replace_strict(
        list(mapping), list(mapping.values()), default=lit(default), return_dtype=pl.String
    )


def table(values: list[str]) -> pl.Series:
    """A lookup table of fragments, gathered by index."""
    return pl.Series(values, dtype=pl.String)


class Dialect(ABC):
    """One output format.

    Subclasses define the message shapes (:meth:`user_message`, :meth:`assistant_message`) and
    the record (:meth:`line`); history assembly is shared.
    """

    name: str = ""

    def __init__(self, content: ContentModel, image_data: list[str]) -> None:
        self.content = content
        self.image_data = image_data
        self.tool_sets = table(
            [""] + [self.tools_json(content.tool_sets[name]) for name in TOOL_SET_NAMES]
        )
        self.tool_calls = table([self.tool_call_tail(call) for call in content.tool_calls])
        self.params = {
            name: table([self.param_fragment(name, v) for v in content.param_values[name]])
            for name in PARAM_FIELDS
        }

    # --- identities: how the format names accounts, keys and clients ------------------------

    def account_identity(self, account_id: str, org_id: str) -> str:
        """The account as this format's logs name it (the truth files use the same name)."""
        return account_id

    def org_identity(self, org_id: str) -> str:
        """The organisation as this format's logs name it."""
        return org_id

    def key_identity(self, key: str) -> str:
        """The API key as this format's logs name it."""
        return key

    def agent_identity(self, agent: str) -> str:
        """The client user agent as this format's logs show it."""
        return agent

    # --- companion files (CloudTrail for Bedrock) --------------------------------------------

    def companion_file_name(self, day: date) -> str | None:
        """Name of a second file written for ``day``, before compression (None: no companion)."""
        return None

    def companion_line(self) -> pl.Expr:  # pragma: no cover - only for dialects with companions
        """The companion record of each row (dialects that name a companion file define it)."""
        raise TypeError(f"{type(self).__name__} writes no companion file")

    #: Text written before the first, between and after the companion records of a file.
    companion_head = ""
    companion_separator = "\n"
    companion_tail = ""

    # --- per-format pieces ------------------------------------------------------------------

    def file_name(self, day: date) -> str:
        """Name of the log file for ``day`` relative to the output folder, before compression."""
        return f"logs/{self.name}-{day.isoformat()}.jsonl"

    @abstractmethod
    def tools_json(self, tools: list[dict[str, Any]]) -> str:
        """The request's tool definitions in this format."""

    @abstractmethod
    def tool_call_tail(self, call: ToolCall) -> str:
        """The part of a tool-call block after its id (the id varies per event)."""

    @abstractmethod
    def param_fragment(self, name: str, value: str | None) -> str:
        """``,"field":value`` for a request parameter (empty when absent or unsupported)."""

    @abstractmethod
    def user_message(self) -> pl.Expr:
        """One user message (JSON) for each row."""

    @abstractmethod
    def assistant_message(self) -> pl.Expr:
        """The assistant message answering each row (JSON), as later turns send it back."""

    @abstractmethod
    def line(self) -> pl.Expr:
        """The whole record for each row, given the ``messages`` column."""

    def system_message(self) -> pl.Expr | None:
        """A system message to put first in ``messages``, for formats that carry it there."""
        return None

    # --- shared --------------------------------------------------------------------------

    def image_column(self) -> pl.Expr:
        """Base64 stand-in image data for each row."""
        return pl.lit(table(self.image_data)).gather(pl.col("image"))

    tool_id_prefix = "toolu_01"

    def tool_use_id(self, shift: int = 0) -> pl.Expr:
        """Id of the tool call made in answer to the row ``shift`` rows earlier."""
        hex_id = pl.col("event_hex").shift(shift) if shift else pl.col("event_hex")
        return pl.concat_str([lit(self.tool_id_prefix), hex_id.str.slice(0, 22)])

    @staticmethod
    def uuid() -> pl.Expr:
        """The row's id as a UUID (8-4-4-4-12 hex digits)."""
        h = pl.col("event_hex")
        return pl.concat_str(
            [
                h.str.slice(0, 8),
                lit("-"),
                h.str.slice(8, 4),
                lit("-"),
                h.str.slice(12, 4),
                lit("-"),
                h.str.slice(16, 4),
                lit("-"),
                h.str.slice(20, 12),
            ]
        )

    @staticmethod
    def iso_time(column: str = "ts", fmt: str = "%Y-%m-%dT%H:%M:%S%.3fZ") -> pl.Expr:
        """A microsecond epoch column as ISO 8601 text."""
        return pl.col(column).cast(pl.Datetime("us")).dt.strftime(fmt)

    @staticmethod
    def number(column: str) -> pl.Expr:
        """An integer column as JSON text."""
        return pl.col(column).cast(pl.String)

    def render(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add the ``line`` column (one JSON record per row) to ``frame``."""
        frame = frame.with_columns(
            self.user_message().alias("user_msg"),
            self.assistant_message().alias("asst_msg"),
        )
        # each earlier turn is sent back as its user and assistant messages: build that pair
        # once per row, then take it from up to HISTORY_TURNS rows above in the same conversation
        frame = frame.with_columns(
            pl.concat_str([pl.col("user_msg"), lit(","), pl.col("asst_msg"), lit(",")]).alias(
                "pair"
            )
        )
        history = [
            pl.when(pl.col("turn") >= back).then(pl.col("pair").shift(back)).otherwise(lit(""))
            for back in range(HISTORY_TURNS, 0, -1)
        ]
        system = self.system_message()
        head = [lit("[")]
        if system is not None:
            head.append(
                pl.when(pl.col("has_system"))
                .then(pl.concat_str([system, lit(",")]))
                .otherwise(lit(""))
            )
        messages = pl.concat_str([*head, *history, pl.col("user_msg"), lit("]")])
        frame = frame.with_columns(messages.alias("messages"))
        return frame.with_columns(self.line().alias("line")).drop(
            "user_msg", "asst_msg", "messages"
        )

    def param_columns(self) -> list[pl.Expr]:
        """The parameter fragments of each row, in field order."""
        return [pl.lit(self.params[name]).gather(pl.col(f"p_{name}")) for name in PARAM_FIELDS]

    def tools_column(self) -> pl.Expr:
        """The tool definitions fragment of each row (empty without tools)."""
        return pl.lit(self.tool_sets).gather(pl.col("tools_set") + 1)

    def tool_call_column(self) -> pl.Expr:
        """The tail of each row's tool call (after its id)."""
        return pl.lit(self.tool_calls).gather(pl.col("call"))


def gateway_line(request: pl.Expr, response: pl.Expr) -> pl.Expr:
    """One request-log record as API gateways export it: request metadata around both bodies."""
    return pl.concat_str(
        [
            lit('{"id":"req_'),
            pl.col("event_hex").str.slice(0, 24),
            lit('","timestamp":"'),
            Dialect.iso_time(),
            lit('","account_id":"'),
            pl.col("account_id"),
            lit('","organization_id":"'),
            pl.col("org_id"),
            lit('","api_key_id":"'),
            pl.col("api_key_id"),
            lit('","client_ip":"'),
            pl.col("source_ip"),
            lit('","user_agent":"'),
            pl.col("user_agent"),
            lit('"'),
            optional("operation", quoted("operation"), pl.col("operation").is_not_null()),
            lit(',"request":'),
            request,
            lit(',"response":'),
            response,
            lit("}"),
        ]
    )
