"""The shared format macros (``distillscan/ingest/macros.sql``) take shortcuts for speed.

``ds_type`` reads a JSON value's type from its first byte and ``ds_unwrap`` skips the parse of
a string that cannot hold JSON. Both must agree with the slow, obvious definitions on every
value, including the shapes that defeat a first-byte test: leading whitespace, escaped
brackets, JSON inside a string after spaces.
"""

from __future__ import annotations

import duckdb
import pytest

from distillscan.ingest.load import prepare

#: JSON texts as a JSON column may hold them (not all written by DuckDB's own parser).
VALUES = [
    '"plain text"',
    '""',
    '"  [1, 2]"',
    '"{\\"role\\": \\"user\\"}"',
    '"[not json"',
    '"\\u005b1, 2]"',
    '"\\n[1]"',
    '"  \\u007b}"',
    '[{"role": "user", "content": "hi"}]',
    "[]",
    '{"text": "x"}',
    "42",
    "-1.5e3",
    "true",
    "false",
    "null",
    '  "leading space"',
    " [1]",
    '\t{"a": 1}',
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    prepare(connection)
    return connection


@pytest.mark.parametrize("text", VALUES)
def test_ds_type_agrees_with_json_type(con: duckdb.DuckDBPyConnection, text: str) -> None:
    fast, slow = con.execute(
        "SELECT ds_type($v::JSON), json_type($v::JSON)", {"v": text}
    ).fetchall()[0]
    assert fast == slow


@pytest.mark.parametrize("text", VALUES)
def test_ds_unwrap_agrees_with_a_full_parse(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """The slow definition: a string whose text, spaces trimmed, starts with a bracket and is
    valid JSON is that JSON; anything else is itself."""
    fast, slow = con.execute(
        """
        SELECT ds_unwrap($v::JSON)::VARCHAR,
            CASE WHEN json_type($v::JSON) = 'VARCHAR'
                      AND left(ltrim(json_extract_string($v::JSON, '$')), 1) IN ('[', '{')
                      AND json_valid(json_extract_string($v::JSON, '$'))
                 THEN json_extract_string($v::JSON, '$')
                 ELSE $v END""",
        {"v": text},
    ).fetchall()[0]
    assert fast == slow


def test_double_encoded_content_is_read_through(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        """SELECT ds_content_text(ds_unwrap($a::JSON)), ds_content_text(ds_unwrap($b::JSON)),
                  ds_content_text($c::JSON), ds_content_text($d::JSON)""",
        {
            "a": '"[{\\"type\\": \\"text\\", \\"text\\": \\"hello\\"}]"',
            "b": '"\\u005b{\\"type\\": \\"text\\", \\"text\\": \\"escaped\\"}]"',
            "c": '""',
            "d": '[{"type": "text", "text": "a"}, {"type": "image"}, "b"]',
        },
    ).fetchall()[0]
    assert rows == ("hello", "escaped", None, "a\nb")


def test_last_user_turn_is_found_by_position(con: duckdb.DuckDBPyConnection) -> None:
    messages = (
        '[{"role": "system", "content": "s"}, {"role": "User", "content": "first"},'
        ' {"role": "assistant", "content": "a"}, {"role": "user", "content": "second"},'
        ' {"role": "assistant", "content": "b"}]'
    )
    rows = con.execute(
        """SELECT ds_chat_prompt(msgs), ds_chat_turns(msgs)
           FROM (SELECT ds_messages(m::JSON) AS msgs FROM (VALUES ($a), ($b)) AS t(m))""",
        {"a": messages, "b": '[{"role": "assistant", "content": "x"}]'},
    ).fetchall()
    assert rows == [("second", 4), (None, 1)]
