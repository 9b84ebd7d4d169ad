"""Tutopanda: a manifest-oriented build system for expensive AI artefacts, and a movie maker on top of it.

The package is layered so that dependencies point one way:

* :mod:`tutopanda.core` — the engine (blueprints, hashing, storage, events, manifests, blobs). It imports
  nothing from the layers above it.
* :mod:`tutopanda.providers` — handlers that implement core's contracts.
* :mod:`tutopanda.cli` — the Typer application: thin commands over core and providers.
"""

__version__ = "0.1.0"
