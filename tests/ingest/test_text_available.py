"""Every format's promise about text: a row that says its text was logged has a prompt.

A mapping that misses a message shape (Gemini ``contents``, content parts, a JSON-text body)
would otherwise load rows with ``text_available`` true and no prompt, and the content passes
would score nothing without a word. This loads every format fixture (batch files with the
account and time given) and checks the promise row by row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ingest_support import DATA

from distillscan.case import Case
from distillscan.ingest import ingest
from distillscan.ingest.load import Supplied


def test_no_row_claims_text_it_does_not_have(tmp_path: Path) -> None:
    fixtures = [p for p in sorted((DATA / "ingest").iterdir()) if p.name != "mapping"]
    ingest(
        fixtures,
        tmp_path / "case",
        supplied=Supplied(account="acct_fixture", time=datetime(2026, 2, 3)),
    )
    con = Case(tmp_path / "case").connect()
    try:
        empty = con.execute(
            """SELECT source_file, source_line FROM events
               WHERE text_available AND coalesce(trim(prompt), '') = ''"""
        ).fetchall()
        with_text = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT source_format FROM events WHERE text_available"
            ).fetchall()
        }
    finally:
        con.close()
    assert empty == []
    assert {"openai", "anthropic", "gemini", "bedrock", "litellm", "helicone"} <= with_text
