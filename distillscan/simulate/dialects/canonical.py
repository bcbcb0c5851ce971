"""``canonical``: distillscan's own schema (``docs/formats.md``), one JSON object per line."""

from __future__ import annotations

from typing import Any

import polars as pl

from distillscan.simulate.content import ToolCall
from distillscan.simulate.dialects.base import Dialect, dumps, lit, optional, quoted


class Canonical(Dialect):
    """Flat records with Anthropic-style content blocks in ``messages``."""

    name = "canonical"

    def tools_json(self, tools: list[dict[str, Any]]) -> str:
        return dumps(
            [
                {
                    "name": t["name"],
                    "description": t["description"],
                    "input_schema": t["parameters"],
                }
                for t in tools
            ]
        )

    def tool_call_tail(self, call: ToolCall) -> str:
        return f'","name":{dumps(call.name)},"input":{dumps(call.input)}}}'

    def param_fragment(self, name: str, value: str | None) -> str:
        if value is None:
            return ""
        if name == "reasoning":
            if value.startswith("budget:"):
                return f',"reasoning":{int(value.split(":")[1])}'
            return f',"reasoning":{dumps(value)}'
        key = "n" if name == "n" else name
        return f',"{key}":{value}'

    def _image_block(self) -> pl.Expr:
        return pl.concat_str(
            [
                lit('{"type":"image","source":{"type":"base64","media_type":"image/png","data":"'),
                self.image_column(),
                lit('"}}'),
            ]
        )

    def user_message(self) -> pl.Expr:
        text = quoted("user_text")
        # a computer-use screenshot travels next to the tool result it illustrates
        screenshot = (
            pl.when(pl.col("screenshot"))
            .then(pl.concat_str([lit(","), self._image_block()]))
            .otherwise(lit(""))
        )
        tool_result = pl.concat_str(
            [
                lit('{"role":"user","content":[{"type":"tool_result","tool_use_id":"'),
                self.tool_use_id(1),
                lit('","content":'),
                text,
                lit("}"),
                screenshot,
                lit("]}"),
            ]
        )
        with_image = pl.concat_str(
            [
                lit('{"role":"user","content":['),
                self._image_block(),
                lit(',{"type":"text","text":'),
                text,
                lit("}]}"),
            ]
        )
        plain = pl.concat_str([lit('{"role":"user","content":'), text, lit("}")])
        return (
            pl.when(pl.col("tool_result"))
            .then(tool_result)
            .when(pl.col("images") > 0)
            .then(with_image)
            .otherwise(plain)
        )

    def assistant_message(self) -> pl.Expr:
        text = quoted("response")
        agentic = pl.concat_str(
            [
                lit('{"role":"assistant","content":[{"type":"text","text":'),
                text,
                lit('},{"type":"tool_use","id":"'),
                self.tool_use_id(),
                self.tool_call_column(),
                lit("]}"),
            ]
        )
        plain = pl.concat_str([lit('{"role":"assistant","content":'), text, lit("}")])
        return pl.when(pl.col("agentic")).then(agentic).otherwise(plain)

    def line(self) -> pl.Expr:
        status = (
            pl.when(pl.col("status") == 200)
            .then(lit('"ok"'))
            .otherwise(quoted(pl.col("status").cast(pl.String)))
        )
        timestamp = self.iso_time()
        return pl.concat_str(
            [
                lit('{"event_id":"req_'),
                pl.col("event_hex").str.slice(0, 24),
                lit('","timestamp":"'),
                timestamp,
                lit('","account_id":"'),
                pl.col("account_id"),
                lit('","api_key_id":"'),
                pl.col("api_key_id"),
                lit('","org_id":"'),
                pl.col("org_id"),
                lit('"'),
                optional("end_user_id", quoted("end_user_id"), pl.col("end_user_id").is_not_null()),
                lit(',"source_ip":"'),
                pl.col("source_ip"),
                lit('","user_agent":"'),
                pl.col("user_agent"),
                lit('","model":"'),
                pl.col("model"),
                lit('"'),
                optional("operation", quoted("operation"), pl.col("operation").is_not_null()),
                optional("system", quoted("system"), pl.col("has_system")),
                lit(',"messages":'),
                pl.col("messages"),
                optional("tools", self.tools_column(), pl.col("tools_set") >= 0),
                *self.param_columns(),
                # a failed call has no answer and bills no tokens
                optional("response", quoted("response"), ~pl.col("error")),
                optional("prompt_tokens", self.number("prompt_tokens"), ~pl.col("error")),
                optional("completion_tokens", self.number("completion_tokens"), ~pl.col("error")),
                lit(',"status":'),
                status,
                lit("}"),
            ]
        )
