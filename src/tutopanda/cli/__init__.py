"""The ``tutopanda`` command line: thin Typer commands over :mod:`tutopanda.core` (and later providers).

Command modules import the engine lazily, inside the command functions, so ``tutopanda --help`` does not
pay for pydantic, fsspec or YAML.
"""
