"""Planning and running: traces, the pure planner, the runner, builds, and the one change verb.

The engine sits on the movie and the store; providers plug into it through
:mod:`tutopanda.core.engine.provider_contract`.
"""
