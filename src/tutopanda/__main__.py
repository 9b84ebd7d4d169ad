"""``python -m tutopanda`` runs the CLI."""

from tutopanda.cli.entry import run

run()
