"""``anthropic``: gateway request logs wrapping Anthropic Messages bodies (``docs/formats.md``).

The envelope is the one of ``openai``; the bodies are Messages API requests (top-level
``system``, content blocks, ``tools`` with ``input_schema``, ``thinking`` budgets, the end user
in ``metadata.user_id``) and ``message`` responses or ``error`` objects. The API has no ``n`` or
``logprobs`` and always carries ``max_tokens``; reasoning efforts become thinking budgets.
"""

from __future__ import annotations

import polars as pl

from distillscan.simulate.dialects.base import dumps, gateway_line, lit, optional, quoted
from distillscan.simulate.dialects.canonical import Canonical
from distillscan.simulate.dialects.openai import error_body

ERROR_BODIES: dict[int, str] = {
    429: dumps(
        {
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "Number of request tokens has exceeded your per-minute rate limit.",
            },
        }
    ),
    500: dumps(
        {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}
    ),
    529: dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
}

#: Thinking budget used for a requested effort (the API takes budgets, not efforts).
EFFORT_BUDGETS: dict[str, int] = {"medium": 4096, "high": 16000, "xhigh": 32000}
#: ``max_tokens`` is required by the API; clients that leave it to a default send this.
DEFAULT_MAX_TOKENS = 4096


class Anthropic(Canonical):
    """Messages API bodies in a gateway's request log (message shapes as ``canonical``)."""

    name = "anthropic"

    def param_fragment(self, name: str, value: str | None) -> str:
        if name in ("n", "logprobs"):
            return ""  # not in this API
        if name == "max_tokens":
            return f',"max_tokens":{value or DEFAULT_MAX_TOKENS}'
        if name == "reasoning":
            if value is None or value == "low":
                return ""
            budget = (
                int(value.split(":")[1]) if value.startswith("budget:") else EFFORT_BUDGETS[value]
            )
            return f',"thinking":{{"type":"enabled","budget_tokens":{budget}}}'
        if value is None:
            return ""
        return f',"{name}":{value}'

    def request_body(self) -> pl.Expr:
        """The Messages API request."""
        return pl.concat_str(
            [
                lit('{"model":"'),
                pl.col("model"),
                lit('"'),
                *self.param_columns(),
                optional("system", quoted("system"), pl.col("has_system")),
                lit(',"messages":'),
                pl.col("messages"),
                optional("tools", self.tools_column(), pl.col("tools_set") >= 0),
                optional(
                    "metadata",
                    pl.concat_str([lit('{"user_id":'), quoted("end_user_id"), lit("}")]),
                    pl.col("end_user_id").is_not_null(),
                ),
                lit("}"),
            ]
        )

    def response_body(self) -> pl.Expr:
        """The ``message`` response, or the error body."""
        tool_use = pl.concat_str(
            [lit(',{"type":"tool_use","id":"'), self.tool_use_id(), self.tool_call_column()]
        )
        content = pl.concat_str(
            [
                lit('[{"type":"text","text":'),
                quoted("response"),
                lit("}"),
                pl.when(pl.col("agentic")).then(tool_use).otherwise(lit("")),
                lit("]"),
            ]
        )
        stop = pl.when(pl.col("agentic")).then(lit("tool_use")).otherwise(lit("end_turn"))
        success = pl.concat_str(
            [
                lit('{"id":"msg_01'),
                pl.col("event_hex").str.slice(10, 22),
                lit('","type":"message","role":"assistant","model":"'),
                pl.col("model"),
                lit('","content":'),
                content,
                lit(',"stop_reason":"'),
                stop,
                lit('","usage":{"input_tokens":'),
                self.number("prompt_tokens"),
                lit(',"output_tokens":'),
                self.number("completion_tokens"),
                lit("}}"),
            ]
        )
        return (
            pl.when(pl.col("error"))
            .then(error_body(pl.col("status"), ERROR_BODIES))
            .otherwise(success)
        )

    def line(self) -> pl.Expr:
        return gateway_line(self.request_body(), self.response_body())
