"""Renderers: turn an investigation into a report. They never print; the CLI does."""
