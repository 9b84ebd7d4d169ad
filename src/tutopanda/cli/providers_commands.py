"""``tutopanda providers list`` (alias ``providers:list``): who can run each producer, and are they ready?

One row per (module, variant) of a blueprint: provider/model, the environment and mode it would run in,
whether a handler is installed for it, whether its secret is set (names only — never values), and its
price from the price table. Answers "what do I need to run this movie live?" without a single call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.options import JsonOpt
from tutopanda.cli.output import Col, make_table, print_json, stdout_console
from tutopanda.cli.settings import state

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint

__all__ = ["register"]

providers_app = typer.Typer(
    name="providers",
    help="See which providers can run each producer, and what they need.",
    no_args_is_help=True,
)

BlueprintOpt = Annotated[
    str | None,
    typer.Option(
        "--blueprint",
        "-b",
        help="Blueprint name or file (default: the settings' blueprint, else image-audio).",
        show_default=False,
    ),
]


def _price_text(rates: dict[str, float]) -> str:
    labels = {
        "usd_per_1m_input_tokens": "/1M in tokens",
        "usd_per_1m_cached_input_tokens": "/1M cached in tokens",
        "usd_per_1m_image_input_tokens": "/1M image in tokens",
        "usd_per_1m_output_tokens": "/1M out tokens",
        "usd_per_1k_characters": "/1k chars",
        "usd_per_image": "/image",
        "usd_per_second": "/s",
        "usd_per_call": "/call",
    }
    return ", ".join(f"${value:g}{labels.get(key, ' ' + key)}" for key, value in rates.items())


def provider_rows(blueprint: Blueprint) -> list[dict[str, Any]]:
    """One row per (module, variant) of ``blueprint`` with readiness and price."""
    from tutopanda.core.engine.provider_contract import EnvSecretResolver
    from tutopanda.core.errors import TutopandaError
    from tutopanda.providers.builtin import OFFLINE_PROVIDERS
    from tutopanda.providers.plugins import default_registry
    from tutopanda.providers.warm_start import required_secrets
    from tutopanda.providers.wiring import root_prices

    registry, prices = default_registry(), root_prices(state.storage_root())
    secrets = EnvSecretResolver()
    rows: list[dict[str, Any]] = []
    language_input = blueprint.input("Language")
    language = str(language_input.default) if language_input and language_input.default else "en"
    for module in blueprint.modules:
        kind = module.producer.kind
        for index, variant in enumerate(module.producer.variants):
            handler_present = True
            needed: tuple[str, ...] = ()
            problem = None
            speaks = None
            try:
                handler = registry.resolve(variant.provider, variant.model, "local", "live", kind)
                needed = required_secrets(handler)
                describe = getattr(handler, "speaks", None)  # local speech: the engine and voice that speak
                if callable(describe):
                    speaks = str(describe(language))
            except TutopandaError as exc:
                handler_present, problem = False, exc.message
            except Exception as exc:  # a plugin's factory that cannot build: report, do not crash the listing
                handler_present, problem = False, f"{type(exc).__name__}: {exc}"
            price = prices.get(variant.provider, variant.model)
            offline = variant.provider in OFFLINE_PROVIDERS
            endpoint = _endpoint(variant.provider, variant.model, variant.config)
            rows.append(
                {
                    "producer": f"{module.name}.{module.producer.name}",
                    "kind": kind,
                    "provider": variant.provider,
                    "model": variant.model,
                    "default": index == 0,
                    "environment": "local",
                    "mode": "live",
                    "network": not offline,
                    "handler": handler_present,
                    "problem": problem,
                    "speaks": speaks,
                    "secrets": {name: secrets.get(name) is not None for name in needed},
                    "price": price.to_dict() if price is not None else None,
                    "priceSource": price.source if price is not None else None,
                    "priceChecked": price.checked if price is not None else None,
                    "endpoint": endpoint,
                    "free": offline,
                }
            )
    return rows


def _endpoint(provider: str, model: str, config: Any) -> dict[str, Any] | None:
    """Where a cloud provider's calls would go now (config, then environment, then the default)."""
    import os

    from tutopanda.core.errors import TutopandaError
    from tutopanda.providers.live.endpoints import DEFAULTS, resolve_endpoint

    if provider == "openai-compatible":  # the local writer chain: same precedence, Ollama by default
        from tutopanda.providers.writers.choice import OLLAMA_BASE_URL

        for source, value in (
            ("config baseUrl", (config or {}).get("baseUrl")),
            ("OPENAI_BASE_URL", os.environ.get("OPENAI_BASE_URL")),
        ):
            if value:
                return {
                    "provider": provider,
                    "baseUrl": str(value).rstrip("/"),
                    "source": source,
                    "azure": False,
                }
        return {"provider": provider, "baseUrl": OLLAMA_BASE_URL, "source": "default", "azure": False}
    if provider not in DEFAULTS:
        return None
    try:
        return resolve_endpoint(provider, config or {}, os.environ.get, model=model).to_dict()
    except TutopandaError as exc:
        return {"provider": provider, "baseUrl": None, "problem": exc.message}


def _endpoint_text(endpoint: dict[str, Any] | None) -> str:
    if endpoint is None:
        return "-"
    if endpoint.get("baseUrl") is None:
        return f"invalid: {endpoint.get('problem')}"
    text = str(endpoint["baseUrl"])
    if endpoint.get("azure"):
        text += f" (Azure, api-version {endpoint.get('apiVersion')})"
    return text if endpoint.get("source") == "default" else f"{text} [{endpoint.get('source')}]"


def _list(blueprint: str | None, as_json: bool) -> None:
    from tutopanda.core.blueprint import load_blueprint
    from tutopanda.core.store.storage import StorageConfig, StorageContext
    from tutopanda.settings import load_settings

    if blueprint is None:
        settings = load_settings(StorageContext.open(StorageConfig(root=state.storage_root())))
        blueprint = settings.general.blueprint
    loaded = load_blueprint(blueprint)
    rows = provider_rows(loaded)
    if as_json:
        print_json({"blueprint": loaded.meta.id, "providers": rows})
        return
    # The module is what --provider Module=provider/model names; the JSON keeps the producer's full id.
    # On a narrow terminal the columns to the right of the secret go first (see FitTable).
    table = make_table(
        Col("module", ident=True),
        "provider/model",
        Col("environment", drop=5),
        Col("mode", drop=4),
        Col("handler", drop=3),
        "secret",
        Col("price", drop=2),
        Col("base URL", drop=6),
        title=f"providers for blueprint {loaded.meta.id}",
    )
    for row in rows:
        choice = f"{row['provider']}/{row['model']}" + (" (default)" if row["default"] else "")
        if row["speaks"]:
            choice += f": {row['speaks']}"
        secret = (
            ", ".join(f"{name} {'set' if ok else 'MISSING'}" for name, ok in row["secrets"].items()) or "-"
        )
        if row["free"]:
            price = "free (offline)"
        elif row["price"]:
            price = _price_text(row["price"])
        else:
            price = "unknown"
        handler = "yes" if row["handler"] else "no"
        table.add_row(
            row["producer"].split(".", 1)[0],
            choice,
            row["environment"],
            row["mode"],
            handler,
            secret,
            price,
            _endpoint_text(row["endpoint"]),
        )
    stdout_console().print(table)


@providers_app.command("list")
def list_command(blueprint: BlueprintOpt = None, as_json: JsonOpt = False) -> None:
    """List each producer's provider/model variants: handler installed, secret set, price.

    Example: tutopanda providers list --blueprint image-audio --json
    """
    _list(blueprint, as_json)


def providers_list(blueprint: BlueprintOpt = None, as_json: JsonOpt = False) -> None:
    """List each producer's provider/model variants: handler installed, secret set, price.

    Example: tutopanda providers list --blueprint video-audio-music
    """
    _list(blueprint, as_json)


def register(app: typer.Typer) -> None:
    """Add the ``providers`` group to ``app``, and ``providers:list`` as its hidden first spelling."""
    app.command("providers:list", hidden=True)(providers_list)
    app.add_typer(providers_app)
