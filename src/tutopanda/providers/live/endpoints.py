"""Where each cloud provider's API lives: base URLs, regions, Azure OpenAI.

Why one module: a base URL decides where the API key goes, so every rule about it (which setting wins,
which schemes are allowed, how it is shown) must be the same for every provider and for ``providers
list``. The precedence is the same everywhere, most specific first:

1. the variant's config ``baseUrl`` (a module's config in ``settings.toml``/``providers.json``);
2. the provider's documented environment variable (``OPENAI_BASE_URL``, ``REPLICATE_BASE_URL``,
   ``ELEVENLABS_BASE_URL``), or a region (``ELEVENLABS_RESIDENCY`` / config ``residency``:
   ``us``, ``eu``, ``in``) or an Azure OpenAI resource (``AZURE_OPENAI_ENDPOINT``);
3. the provider's public default.

A key is sent in clear only to a loopback host: ``http://`` is refused for anything else. A URL with
credentials, a query or a fragment is refused (a key belongs in its variable, not in a URL).

Azure OpenAI differs from OpenAI in three ways, all handled by the SDK's Azure client once the
endpoint says so: the key goes in the ``api-key`` header (``AZURE_OPENAI_API_KEY``), per-model paths are
``/openai/deployments/{deployment}/…`` and every request carries ``?api-version=…``
(``OPENAI_API_VERSION`` or config ``apiVersion``). The deployment is config ``deployment``, else the
model name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tutopanda.core.errors import ProviderConfigError

__all__ = [
    "AZURE_DEFAULT_API_VERSION",
    "DEFAULTS",
    "ELEVENLABS_RESIDENCY_HOSTS",
    "ENDPOINT_CONFIG_KEYS",
    "Endpoint",
    "check_base_url",
    "resolve_endpoint",
]

DEFAULTS = {
    "openai": "https://api.openai.com/v1",
    "replicate": "https://api.replicate.com/v1",
    "elevenlabs": "https://api.elevenlabs.io",
}
BASE_URL_VARIABLES = {
    "openai": "OPENAI_BASE_URL",
    "replicate": "REPLICATE_BASE_URL",
    "elevenlabs": "ELEVENLABS_BASE_URL",
}
ELEVENLABS_RESIDENCY_HOSTS = {
    "us": "https://api.us.elevenlabs.io",
    "eu": "https://api.eu.residency.elevenlabs.io",
    "in": "https://api.in.residency.elevenlabs.io",
}
"""ElevenLabs' data-residency API hosts (an account is tied to one; its key works only there)."""
AZURE_DEFAULT_API_VERSION = "2025-04-01-preview"
"""Recent enough for Responses, gpt-image-1 and gpt-4o-mini-tts on Azure OpenAI."""
ENDPOINT_CONFIG_KEYS = frozenset({"baseUrl", "residency", "apiVersion", "deployment"})
"""Config keys read here. They say where a call goes, not what it makes: left out of traces."""

Environ = Callable[[str], str | None]


@dataclass(frozen=True)
class Endpoint:
    """Where one provider's calls go, and what sets it (shown by ``providers list``)."""

    provider: str
    base_url: str
    source: str
    """``default``, ``config baseUrl``, ``OPENAI_BASE_URL``, ``ELEVENLABS_RESIDENCY=eu``..."""
    azure: bool = False
    api_version: str | None = None
    deployment: str | None = None

    @property
    def secret_name(self) -> str | None:
        """The key's variable when it differs from the provider's usual one (Azure)."""
        return "AZURE_OPENAI_API_KEY" if self.azure else None

    def describe(self) -> str:
        text = self.base_url
        if self.azure:
            text += f" (Azure OpenAI, api-version {self.api_version})"
        return text if self.source == "default" else f"{text} [{self.source}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "baseUrl": self.base_url,
            "source": self.source,
            "azure": self.azure,
            "apiVersion": self.api_version,
        }


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(value: object, where: str, *, source: str) -> str:
    """``value`` as a base URL without a trailing slash; ProviderConfigError naming ``source`` if unusable."""
    if not isinstance(value, str) or not value.strip():
        raise ProviderConfigError(
            f"{where}: {source} = {value!r} is not a URL", "e.g. https://api.example.com/v1"
        )
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderConfigError(
            f"{where}: {source} = {url!r} is not an http(s) URL", "e.g. https://host/v1"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ProviderConfigError(
            f"{where}: {source} {parts.scheme}://{parts.hostname}… has credentials, a query or a fragment",
            "give the plain URL; keys belong in their environment variable",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ProviderConfigError(
            f"{where}: {source} {url} is plain http to a remote host: the API key would travel in clear",
            "use https (plain http is allowed for localhost / 127.0.0.1 only)",
        )
    return url


def _azure(config: Mapping[str, Any], env: Environ, where: str, model: str) -> Endpoint | None:
    endpoint = env("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        return None
    url = check_base_url(endpoint, where, source="AZURE_OPENAI_ENDPOINT")
    version = config.get("apiVersion") or env("OPENAI_API_VERSION") or AZURE_DEFAULT_API_VERSION
    if not isinstance(version, str):
        raise ProviderConfigError(
            f"{where}: config apiVersion = {version!r} is not a string", "e.g. 2025-04-01-preview"
        )
    deployment = config.get("deployment") or model
    if not isinstance(deployment, str):
        raise ProviderConfigError(f"{where}: config deployment = {deployment!r} is not a string")
    return Endpoint(
        "openai", url, "AZURE_OPENAI_ENDPOINT", azure=True, api_version=version, deployment=deployment
    )


def resolve_endpoint(
    provider: str, config: Mapping[str, Any], env: Environ, *, model: str = "", where: str = ""
) -> Endpoint:
    """The endpoint of ``provider`` for a job with ``config``; ``env`` reads environment variables.

    Raises ProviderConfigError for an unusable URL or an unknown residency, before any call.
    """
    where = where or provider
    if "baseUrl" in config:
        return Endpoint(
            provider, check_base_url(config["baseUrl"], where, source="config baseUrl"), "config baseUrl"
        )
    if provider == "openai":
        azure = _azure(config, env, where, model)
        if azure is not None and not env("OPENAI_BASE_URL"):
            return azure
    if provider == "elevenlabs":
        residency = config.get("residency") or env("ELEVENLABS_RESIDENCY")
        source = "config residency" if config.get("residency") else "ELEVENLABS_RESIDENCY"
        if residency:
            host = ELEVENLABS_RESIDENCY_HOSTS.get(str(residency).strip().lower())
            if host is None:
                raise ProviderConfigError(
                    f"{where}: {source} = {residency!r} is not an ElevenLabs region",
                    "use one of " + ", ".join(ELEVENLABS_RESIDENCY_HOSTS) + " (or set a baseUrl)",
                )
            return Endpoint(provider, host, f"{source}={str(residency).strip().lower()}")
    variable = BASE_URL_VARIABLES.get(provider)
    value = env(variable) if variable else None
    if value and variable:
        return Endpoint(provider, check_base_url(value, where, source=variable), variable)
    return Endpoint(provider, DEFAULTS[provider], "default")
