"""Durable execution: builds as DBOS workflows run by worker processes (``docs/scale-out.md``).

Imports ``tutopanda.core`` only; the CLI wires it to the provider registry.
"""
