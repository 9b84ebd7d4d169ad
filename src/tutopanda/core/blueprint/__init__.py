"""Blueprints: the YAML description of a movie pipeline, and its expansion into a producer job graph.

Why a package: loading (with line numbers), validation, typed input values and expansion are separate
concerns with one public face. The CLI calls only the names in ``__all__``; ``docs/blueprints.md``
describes the format, the canonical ids and the errors.

Typical use::

    blueprint = load_blueprint("image-audio")
    values = parse_set_options(["NumOfSegments=3"])
    graph = expand(blueprint, values)
    print(json.dumps(graph.to_dict(), indent=2))
"""

from __future__ import annotations

from tutopanda.core.blueprint.expand import MAX_BINDINGS, MAX_JOBS, MAX_LOOP_COUNT, expand
from tutopanda.core.blueprint.input_values import (
    ResolvedInputs,
    ResolvedValue,
    coerce_value,
    load_input_file,
    parse_set_options,
    resolve_inputs,
)
from tutopanda.core.blueprint.job_graph import (
    Binding,
    FanIn,
    FanInMember,
    Job,
    JobGraph,
    ProducedArtefact,
    SelectedVariant,
)
from tutopanda.core.blueprint.loader import (
    BlueprintSummary,
    list_bundled_blueprints,
    list_user_blueprints,
    load_blueprint,
)
from tutopanda.core.blueprint.model import (
    ARTEFACT_KINDS,
    PRODUCER_KINDS,
    VALUE_TYPES,
    ArtefactSpec,
    Blueprint,
    InputSpec,
    LoopSpec,
    Meta,
    ModuleSpec,
    ProducerDef,
    Variant,
)
from tutopanda.core.blueprint.selection import parse_model_options
from tutopanda.core.blueprint.validate import validate_blueprint

__all__ = [
    "ARTEFACT_KINDS",
    "MAX_BINDINGS",
    "MAX_JOBS",
    "MAX_LOOP_COUNT",
    "PRODUCER_KINDS",
    "VALUE_TYPES",
    "ArtefactSpec",
    "Binding",
    "Blueprint",
    "BlueprintSummary",
    "FanIn",
    "FanInMember",
    "InputSpec",
    "Job",
    "JobGraph",
    "LoopSpec",
    "Meta",
    "ModuleSpec",
    "ProducedArtefact",
    "ProducerDef",
    "ResolvedInputs",
    "ResolvedValue",
    "SelectedVariant",
    "Variant",
    "coerce_value",
    "expand",
    "list_bundled_blueprints",
    "list_user_blueprints",
    "load_blueprint",
    "load_input_file",
    "parse_model_options",
    "parse_set_options",
    "resolve_inputs",
    "validate_blueprint",
]
