"""``python -m tutopanda`` runs the CLI."""

from tutopanda.cli.main import run

run()
