"""Bundled blueprints (package data): ``*.yaml`` blueprints, ``modules/*.yaml`` producer definitions and
``prompts/*.txt`` prompt templates. Loaded by :mod:`tutopanda.core.blueprint.loader` through
:mod:`importlib.resources`; this file only makes the directory an importable package."""
