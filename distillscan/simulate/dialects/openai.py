"""``openai``: gateway request logs wrapping OpenAI Chat Completions bodies (``docs/formats.md``).

A record is ``{id, timestamp, account_id, organization_id, api_key_id, client_ip, user_agent,
request, response}``: the request body as the client sent it (system prompt as the first
message, ``tools`` as functions, ``user`` naming the end user), the response body as returned,
or an ``error`` object for a failed call. Agent loops use ``tool_calls`` and ``tool`` messages;
a computer-use screenshot, which a ``tool`` message cannot carry, follows it as a user image.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from distillscan.simulate.content import ToolCall
from distillscan.simulate.dialects.base import (
    Dialect,
    dumps,
    gateway_line,
    lit,
    lookup,
    optional,
    quoted,
)

#: OpenAI's error objects for each simulated failure.
ERROR_BODIES: dict[int, str] = {
    429: dumps(
        {
            "error": {
                "message": "Rate limit reached for requests per min. Please try again shortly.",
                "type": "requests",
                "code": "rate_limit_exceeded",
            }
        }
    ),
    500: dumps(
        {
            "error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "code": None,
            }
        }
    ),
    529: dumps(
        {
            "error": {
                "message": "The engine is currently overloaded, please try again later.",
                "type": "server_error",
                "code": "overloaded",
            }
        }
    ),
}


def error_body(status: pl.Expr, bodies: dict[int, str]) -> pl.Expr:
    """The error body of each failed row."""
    return lookup(status, bodies, next(iter(bodies.values())))


class OpenAI(Dialect):
    """Chat Completions bodies in a gateway's request log."""

    name = "openai"
    tool_id_prefix = "call_"

    def tools_json(self, tools: list[dict[str, Any]]) -> str:
        return dumps(
            [
                {
                    "type": "function",
                    "function": {
                        "name": t["name"],
                        "description": t["description"],
                        "parameters": t["parameters"],
                    },
                }
                for t in tools
            ]
        )

    def tool_call_tail(self, call: ToolCall) -> str:
        function = f'{{"name":{dumps(call.name)},"arguments":{dumps(dumps(call.input))}}}'
        return f'","type":"function","function":{function}}}'

    def param_fragment(self, name: str, value: str | None) -> str:
        if value is None:
            return ""
        if name == "max_tokens":
            return f',"max_completion_tokens":{value}'
        if name == "reasoning":
            if value.startswith("budget:"):  # no budgets in this API: the nearest effort
                value = "medium" if int(value.split(":")[1]) <= 8000 else "high"
            return f',"reasoning_effort":{dumps(value)}'
        return f',"{name}":{value}'

    def image_part(self) -> pl.Expr:
        """An ``image_url`` content part with a data URL."""
        return pl.concat_str(
            [
                lit('{"type":"image_url","image_url":{"url":"data:image/png;base64,'),
                self.image_column(),
                lit('"}}'),
            ]
        )

    def system_message(self) -> pl.Expr | None:
        return pl.concat_str([lit('{"role":"system","content":'), quoted("system"), lit("}")])

    def user_message(self) -> pl.Expr:
        text = quoted("user_text")
        tool = pl.concat_str(
            [
                lit('{"role":"tool","tool_call_id":"'),
                self.tool_use_id(1),
                lit('","content":'),
                text,
                lit("}"),
            ]
        )
        screenshot = pl.concat_str(
            [
                tool,
                lit(',{"role":"user","content":[{"type":"text","text":'),
                lit('"Screenshot after the action."},'),
                self.image_part(),
                lit("]}"),
            ]
        )
        with_image = pl.concat_str(
            [
                lit('{"role":"user","content":[{"type":"text","text":'),
                text,
                lit("},"),
                self.image_part(),
                lit("]}"),
            ]
        )
        plain = pl.concat_str([lit('{"role":"user","content":'), text, lit("}")])
        return (
            pl.when(pl.col("screenshot"))
            .then(screenshot)
            .when(pl.col("tool_result"))
            .then(tool)
            .when(pl.col("images") > 0)
            .then(with_image)
            .otherwise(plain)
        )

    def _tool_calls(self) -> pl.Expr:
        return pl.concat_str(
            [lit(',"tool_calls":[{"id":"'), self.tool_use_id(), self.tool_call_column(), lit("]")]
        )

    def assistant_message(self) -> pl.Expr:
        calls = pl.when(pl.col("agentic")).then(self._tool_calls()).otherwise(lit(""))
        return pl.concat_str(
            [lit('{"role":"assistant","content":'), quoted("response"), calls, lit("}")]
        )

    def request_body(self) -> pl.Expr:
        """The Chat Completions request."""
        return pl.concat_str(
            [
                lit('{"model":"'),
                pl.col("model"),
                lit('","messages":'),
                pl.col("messages"),
                optional("tools", self.tools_column(), pl.col("tools_set") >= 0),
                *self.param_columns(),
                optional("user", quoted("end_user_id"), pl.col("end_user_id").is_not_null()),
                lit("}"),
            ]
        )

    def response_body(self) -> pl.Expr:
        """The Chat Completions response, or the error body."""
        finish = pl.when(pl.col("agentic")).then(lit("tool_calls")).otherwise(lit("stop"))
        calls = pl.when(pl.col("agentic")).then(self._tool_calls()).otherwise(lit(""))
        total = (pl.col("prompt_tokens") + pl.col("completion_tokens")).cast(pl.String)
        created = (pl.col("ts") // 1_000_000 + 2).cast(pl.String)
        success = pl.concat_str(
            [
                lit('{"id":"chatcmpl-'),
                pl.col("event_hex").str.slice(8, 24),
                lit('","object":"chat.completion","created":'),
                created,
                lit(',"model":"'),
                pl.col("model"),
                lit('","choices":[{"index":0,"message":{"role":"assistant","content":'),
                quoted("response"),
                calls,
                lit('},"finish_reason":"'),
                finish,
                lit('"}],"usage":{"prompt_tokens":'),
                self.number("prompt_tokens"),
                lit(',"completion_tokens":'),
                self.number("completion_tokens"),
                lit(',"total_tokens":'),
                total,
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
