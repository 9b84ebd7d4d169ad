"""The engine. Nothing in here may import :mod:`tutopanda.providers` or :mod:`tutopanda.cli`."""
