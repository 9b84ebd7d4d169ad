"""Safe-margin masks for ``bench/quality.py``, run *inside* the tree being measured (a subprocess).

Why a separate process: ``quality.py`` compares the working tree with an older commit, and only a process
started with that tree's ``src`` on ``PYTHONPATH`` imports that tree's renderer. Why masks: the slide
renderer's public ``draw_overlay(...)`` returns an RGBA image whose alpha is exactly the text and accent
pixels, so "no text outside the 5 % safe area" is an exact pixel count rather than a guess from frames.

Reads a JSON request on stdin (``segments``: heading/text/title per segment, ``title``/``summary`` for the
title card, ``sizes``: aspect -> [w, h], ``styles``: style names, null for the default, and ``fraction``) and
prints one JSON object: ``{"available": false}`` when the tree has no ``draw_overlay``, else
``{"available": true, "where": module, "outside": {aspect: [pixels per mask]}, "inside": {...},
"masks": n}``: one mask per style x segment, plus the title card when ``draw_title_overlay`` exists.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

PACKAGES = ("tutopanda.providers.render", "tutopanda.providers.local")
"""Where the overlay API may live (the brief names ``providers/render``; slides live in ``local``)."""


def find_overlay() -> tuple[str, Callable[..., Any]] | None:
    """The first ``draw_overlay`` found in :data:`PACKAGES` (module name, function), or None."""
    for package_name in PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError:
            continue
        candidates = [package_name] + [
            f"{package_name}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
        ]
        for name in candidates:
            try:
                module = importlib.import_module(name)
            except Exception:  # a half-edited module in a shared tree: look elsewhere
                continue
            function = getattr(module, "draw_overlay", None)
            if callable(function):
                return name, function
    return None


def _arguments(
    function: Callable[..., Any], segment: dict[str, Any], size: tuple[int, int]
) -> dict[str, Any]:
    """Keyword arguments for ``function`` by parameter name (the API is matched, not assumed)."""
    values: dict[str, Any] = {
        "size": size,
        "width": size[0],
        "height": size[1],
        "text": segment["text"],
        "narration": segment["text"],
        "sentence": segment["text"],
        "heading": segment["heading"],
        "headline": segment["heading"],
        "title": segment["title"],
        "style": None,
    }
    arguments: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name in values:
            arguments[name] = values[name]
        elif parameter.default is inspect.Parameter.empty and parameter.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            raise SystemExit(f"draw_overlay{inspect.signature(function)}: no value for {name!r}")
    return arguments


def _title_card(where: str) -> Callable[..., Any] | None:
    function = getattr(importlib.import_module(where), "draw_title_overlay", None)
    return function if callable(function) else None


def main() -> None:
    request = json.load(sys.stdin)
    found = find_overlay()
    if found is None:
        print(json.dumps({"available": False}))
        return
    where, function = found
    title_card = _title_card(where)
    fraction = float(request["fraction"])
    outside: dict[str, list[int]] = {}
    inside: dict[str, list[int]] = {}
    for aspect, (width, height) in request["sizes"].items():
        band_x, band_y = round(width * fraction), round(height * fraction)
        safe = np.zeros((height, width), dtype=bool)
        safe[band_y : height - band_y, band_x : width - band_x] = True
        images = []
        for style in request.get("styles", [None]):
            if title_card is not None:
                images.append(
                    title_card((width, height), style, request.get("title", ""), request.get("summary", ""))
                )
            for segment in request["segments"]:
                arguments = _arguments(function, segment, (width, height))
                if "style" in arguments:
                    arguments["style"] = style
                images.append(function(**arguments))
        outside[aspect], inside[aspect] = [], []
        for image in images:
            alpha = np.asarray(image.convert("RGBA"))[:, :, 3] > 0
            if alpha.shape != (height, width):
                raise SystemExit(f"draw_overlay returned {alpha.shape[::-1]}, asked for {(width, height)}")
            outside[aspect].append(int(np.count_nonzero(alpha & ~safe)))
            inside[aspect].append(int(np.count_nonzero(alpha & safe)))
    masks = sum(len(counts) for counts in outside.values())
    print(
        json.dumps({"available": True, "where": where, "outside": outside, "inside": inside, "masks": masks})
    )


if __name__ == "__main__":
    main()
