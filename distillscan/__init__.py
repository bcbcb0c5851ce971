"""distillscan: find model-distillation campaigns in exported LLM API logs, offline."""

__version__ = "0.1.0"
