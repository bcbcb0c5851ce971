"""``python -m distillscan`` runs the command-line interface."""

from distillscan.cli import main

main()
