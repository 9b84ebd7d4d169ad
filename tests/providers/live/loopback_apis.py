"""A loopback HTTP server answering the documented subset of the OpenAI, Replicate and ElevenLabs APIs.

Why a real server and not respx: the live builds of ``test_loopback_builds`` run the real CLI with the
providers' base URLs pointed here (``OPENAI_BASE_URL``, ``REPLICATE_BASE_URL``, ``ELEVENLABS_BASE_URL``,
``AZURE_OPENAI_ENDPOINT``), so the whole path is exercised: endpoint resolution, the SDK's request
building, headers, redirects policy, downloads. The server is **strict**: a request carrying a body
field, query parameter or header value the real API does not document is refused the way the API
refuses it (400/422 naming the field), so a handler that drifts from the documented shapes fails here.

Written from the public API references (request fields as documented in December 2026); answers carry
the fields the handlers read plus what the real API sends alongside.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

OPENAI_RESPONSES_FIELDS = frozenset(
    {
        "model", "input", "instructions", "text", "reasoning", "max_output_tokens", "temperature", "top_p",
        "store", "metadata", "previous_response_id", "tools", "tool_choice", "parallel_tool_calls",
        "truncation", "user", "service_tier", "background", "include", "stream", "prompt_cache_key",
        "safety_identifier", "max_tool_calls", "top_logprobs", "prompt", "conversation",
    }
)  # fmt: skip
OPENAI_SPEECH_FIELDS = frozenset(
    {"model", "input", "voice", "instructions", "response_format", "speed", "stream_format"}
)
OPENAI_IMAGE_FIELDS = frozenset(
    {
        "model", "prompt", "n", "size", "quality", "output_format", "output_compression", "background",
        "moderation", "response_format", "style", "user", "partial_images", "stream",
    }
)  # fmt: skip
ELEVEN_TTS_FIELDS = frozenset(
    {
        "text", "model_id", "language_code", "voice_settings", "pronunciation_dictionary_locators", "seed",
        "previous_text", "next_text", "previous_request_ids", "next_request_ids", "apply_text_normalization",
        "apply_language_text_normalization", "use_pvc_as_ivc",
    }
)  # fmt: skip
ELEVEN_TTS_QUERY = frozenset({"output_format", "enable_logging", "optimize_streaming_latency"})
ELEVEN_VOICE_SETTINGS = frozenset({"stability", "similarity_boost", "style", "use_speaker_boost", "speed"})
ELEVEN_MUSIC_FIELDS = frozenset(
    {
        "prompt",
        "music_length_ms",
        "model_id",
        "force_instrumental",
        "composition_plan",
        "respect_sections_durations",
        "seed",
    }
)
REPLICATE_CREATE_FIELDS = frozenset({"input", "webhook", "webhook_events_filter", "stream"})
REPLICATE_VERSION_CREATE_FIELDS = REPLICATE_CREATE_FIELDS | {"version"}

VOICES = {"George": "JBFqnCBsd6RMkjVDRZzb", "Rachel": "21m00Tcm4TlvDq8ikWAM"}


def _enum(name: str, values: list[Any]) -> dict[str, Any]:
    return {"title": name, "enum": values, "type": "string" if isinstance(values[0], str) else "integer"}


ASPECTS = ["1:1", "16:9", "9:16", "4:3", "3:4"]
REPLICATE_SCHEMAS: dict[str, dict[str, Any]] = {
    "black-forest-labs/flux-schnell": {
        "Input": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "aspect_ratio": {"allOf": [{"$ref": "#/components/schemas/aspect_ratio"}], "default": "1:1"},
                "num_outputs": {"type": "integer", "minimum": 1, "maximum": 4},
                "num_inference_steps": {"type": "integer", "minimum": 1, "maximum": 4},
                "seed": {"type": "integer"},
                "output_format": {"allOf": [{"$ref": "#/components/schemas/output_format"}]},
                "megapixels": {"type": "string", "enum": ["1", "0.25"]},
            },
        },
        "aspect_ratio": _enum("aspect_ratio", ASPECTS),
        "output_format": _enum("output_format", ["webp", "jpg", "png"]),
    },
    "bytedance/seedream-4": {
        "Input": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "size": {"allOf": [{"$ref": "#/components/schemas/size"}], "default": "2K"},
                "aspect_ratio": {"allOf": [{"$ref": "#/components/schemas/aspect_ratio"}]},
                "max_images": {"type": "integer", "minimum": 1, "maximum": 15},
                "image_input": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "sequential_image_generation": {"type": "string", "enum": ["disabled", "auto"]},
            },
        },
        "size": _enum("size", ["1K", "2K", "4K", "custom"]),
        "aspect_ratio": _enum("aspect_ratio", ["match_input_image", *ASPECTS, "21:9"]),
    },
    "minimax/speech-02-turbo": {
        "Input": {
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {"type": "string", "maxLength": 10000},
                "voice_id": {"type": "string"},
                "emotion": {"allOf": [{"$ref": "#/components/schemas/emotion"}]},
                "language_boost": {"allOf": [{"$ref": "#/components/schemas/language_boost"}]},
                "speed": {"type": "number", "minimum": 0.5, "maximum": 2},
                "audio_format": _enum("audio_format", ["mp3", "wav", "flac", "pcm"]),
                "subtitle_enable": {"type": "boolean"},
            },
        },
        "emotion": _enum("emotion", ["auto", "happy", "sad", "angry", "calm", "neutral"]),
        "language_boost": _enum("language_boost", ["None", "Automatic", "English", "French", "German"]),
    },
    "stability-ai/stable-audio-2.5": {
        "Input": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "duration": {"type": "integer", "minimum": 1, "maximum": 190},
                "steps": {"type": "integer", "minimum": 4, "maximum": 8},
                "cfg_scale": {"type": "number", "minimum": 1, "maximum": 25},
                "seed": {"type": "integer"},
            },
        },
    },
}


@cache
def media() -> dict[str, bytes]:
    """A real MP3, WAV, PNG and MP4 (made once with the bundled ffmpeg), so the whole build renders."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    found: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        tone = ["-f", "lavfi", "-i", "sine=frequency=330:duration=2:sample_rate=24000", "-ac", "1"]
        for name, extra in (("mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]), ("wav", ["-c:a", "pcm_s16le"])):
            subprocess.run(
                [ffmpeg, "-loglevel", "error", "-y", *tone, *extra, str(base / f"a.{name}")], check=True
            )
            found[name] = (base / f"a.{name}").read_bytes()
        subprocess.run(
            [ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:s=320x180:d=2:r=24",
             "-c:v", "libx264", "-pix_fmt", "yuv420p", str(base / "v.mp4")],
            check=True,
        )  # fmt: skip
        found["mp4"] = (base / "v.mp4").read_bytes()
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (30, 90, 160)).save(buffer, "PNG")
    found["png"] = buffer.getvalue()
    return found


@dataclass
class Seen:
    """What the server received, for assertions (never the keys themselves: only whether they matched)."""

    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    auth_ok: list[bool] = field(default_factory=list)

    def paths(self, prefix: str = "") -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.requests if path.startswith(prefix)]

    def bodies(self, pattern: str) -> list[dict[str, Any]]:
        return [body for _, path, body in self.requests if re.search(pattern, path) and body is not None]


class RefusedError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(json.dumps(body))
        self.status, self.body = status, body


class FakeAPIs:
    """The three APIs under one loopback origin.

    Prefixes: ``/openai/v1``, ``/azure`` (Azure OpenAI), ``/replicate/v1``, ``/elevenlabs``, ``/files``.
    """

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.seen = Seen()
        self._predictions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- plumbing ------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

        return Handler

    def _serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("content-length") or 0)
        raw = request.rfile.read(length) if length else b""
        body: dict[str, Any] | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        with self._lock:
            self.seen.requests.append((method, parts.path, body))
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        try:
            status, headers, content = self._route(method, parts.path, query, request.headers, body)
        except RefusedError as refused:
            with self._lock:
                self.seen.refused.append(f"{method} {parts.path}: {refused.body}")
            status, headers, content = (
                refused.status,
                {"content-type": "application/json"},
                json.dumps(refused.body).encode(),
            )
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("content-length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    def _auth(self, ok: bool, provider: str) -> None:
        with self._lock:
            self.seen.auth_ok.append(ok)
        if not ok:
            raise RefusedError(
                401, {"error": {"message": f"{provider}: invalid key", "code": "invalid_api_key"}}
            )

    @staticmethod
    def _strict(body: Any, allowed: frozenset[str], status: int, where: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise RefusedError(400, {"error": {"message": f"{where}: the body is not a JSON object"}})
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise RefusedError(
                status,
                {"error": {"message": f"Unknown parameter: '{unknown[0]}'.", "param": unknown[0],
                           "code": "unknown_parameter", "type": "invalid_request_error"}},
            )  # fmt: skip
        return body

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/files/"):
            kind = path.rsplit(".", 1)[-1]
            return 200, {"content-type": "application/octet-stream"}, media()[kind]
        if path.startswith("/openai/v1/"):
            self._auth(headers.get("authorization") == f"Bearer {self.keys['OPENAI_API_KEY']}", "openai")
            return self._openai(method, path.removeprefix("/openai/v1"), query, body)
        if path.startswith("/azure/openai/"):
            self._auth(headers.get("api-key") == self.keys["AZURE_OPENAI_API_KEY"], "azure")
            if "authorization" in {key.lower() for key in headers}:
                raise RefusedError(400, {"error": {"message": "send the key as api-key only"}})
            if "api-version" not in query:
                raise RefusedError(
                    404, {"error": {"code": "404", "message": "Resource not found (no api-version)"}}
                )
            rest = path.removeprefix("/azure/openai")
            match = re.match(r"^/deployments/([^/]+)(/.*)$", rest)
            if match:  # deployment-scoped: the body's model is the deployment
                return self._openai(method, match.group(2), {}, body, deployment=match.group(1))
            return self._openai(method, rest, {}, body)
        if path.startswith("/replicate/v1/"):
            self._auth(
                headers.get("authorization") == f"Bearer {self.keys['REPLICATE_API_TOKEN']}", "replicate"
            )
            return self._replicate(method, path.removeprefix("/replicate/v1"), body)
        if path.startswith("/elevenlabs/v1/"):
            self._auth(headers.get("xi-api-key") == self.keys["ELEVENLABS_API_KEY"], "elevenlabs")
            return self._elevenlabs(method, path.removeprefix("/elevenlabs"), query, body)
        raise RefusedError(404, {"detail": f"no route {path}"})

    # -- OpenAI --------------------------------------------------------------------------------------

    def _openai(
        self, method: str, path: str, query: dict[str, str], body: Any, deployment: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        json_headers = {"content-type": "application/json", "x-request-id": "req_loopback"}
        if method == "POST" and path == "/responses":
            request = self._strict(body, OPENAI_RESPONSES_FIELDS, 400, "responses")
            if "temperature" in request and str(request["model"]).startswith("gpt-5"):
                raise RefusedError(
                    400,
                    {"error": {"message": "Unsupported parameter: 'temperature'", "param": "temperature"}},
                )
            answer = _answer_for(request)
            return 200, json_headers, json.dumps(_response(request["model"], answer)).encode()
        if method == "POST" and path == "/audio/speech":
            request = self._strict(body, OPENAI_SPEECH_FIELDS, 400, "speech")
            fmt = request.get("response_format", "mp3")
            if fmt not in ("mp3", "wav"):
                raise RefusedError(400, {"error": {"message": f"this fake serves mp3 and wav, not {fmt}"}})
            return 200, {"content-type": f"audio/{fmt}"}, media()[fmt]
        if method == "POST" and path == "/images/generations":
            request = self._strict(body, OPENAI_IMAGE_FIELDS, 400, "images")
            if request.get("size") not in (None, "auto", "1024x1024", "1536x1024", "1024x1536"):
                raise RefusedError(400, {"error": {"message": "Invalid size", "param": "size"}})
            count = int(request.get("n", 1))
            answer = {
                "created": 1,
                "data": [{"b64_json": base64.b64encode(media()["png"]).decode()} for _ in range(count)],
                "size": request.get("size", "1024x1024"),
                "quality": request.get("quality", "high"),
                "output_format": "png",
                "usage": {"input_tokens": 40, "output_tokens": 1056 * count,
                          "total_tokens": 40 + 1056 * count,
                          "input_tokens_details": {"text_tokens": 40, "image_tokens": 0}},
            }  # fmt: skip
            if deployment is not None:
                answer["deployment"] = deployment
            return 200, json_headers, json.dumps(answer).encode()
        raise RefusedError(404, {"error": {"message": f"no OpenAI route {method} {path}"}})

    # -- Replicate -----------------------------------------------------------------------------------

    def _replicate(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str], bytes]:
        json_headers = {"content-type": "application/json"}
        match = re.match(r"^/models/([^/]+/[^/]+)$", path)
        if method == "GET" and match:
            model = match.group(1)
            if model not in REPLICATE_SCHEMAS:
                raise RefusedError(404, {"detail": "Not found."})
            schema = {"openapi": "3.0.2", "components": {"schemas": REPLICATE_SCHEMAS[model]}}
            version = {"id": "v" * 64, "openapi_schema": schema}
            return (
                200,
                json_headers,
                json.dumps({"owner": model.split("/")[0], "latest_version": version}).encode(),
            )
        match = re.match(r"^/models/([^/]+/[^/]+)/predictions$", path)
        if method == "POST" and match:
            model = match.group(1)
            request = self._strict(body, REPLICATE_CREATE_FIELDS, 422, "create prediction")
            self._check_replicate_input(model, request.get("input"))
            prediction_id = f"p{len(self._predictions) + 1}"
            base = f"{self.url}/replicate/v1/predictions/{prediction_id}"
            kind = {"minimax": "mp3", "stability-ai": "wav"}.get(model.split("/")[0], "png")
            outputs = [
                f"{self.url}/files/{prediction_id}-{i}.{kind}"
                for i in range(
                    int(request["input"].get("num_outputs", request["input"].get("max_images", 1)))
                )
            ]
            prediction = {
                "id": prediction_id, "model": model, "version": "v" * 64, "input": request["input"],
                "status": "succeeded", "output": outputs if kind == "png" else outputs[0],
                "metrics": {"predict_time": 0.4}, "urls": {"get": base, "cancel": base + "/cancel"},
                "error": None,
            }  # fmt: skip
            self._predictions[prediction_id] = prediction
            starting = {**prediction, "status": "starting", "output": None}
            return 201, json_headers, json.dumps(starting).encode()
        match = re.match(r"^/predictions/([^/]+)$", path)
        if method == "GET" and match and match.group(1) in self._predictions:
            return 200, json_headers, json.dumps(self._predictions[match.group(1)]).encode()
        raise RefusedError(404, {"detail": f"no Replicate route {method} {path}"})

    @staticmethod
    def _check_replicate_input(model: str, values: Any) -> None:
        schemas = REPLICATE_SCHEMAS.get(model)
        if schemas is None or not isinstance(values, dict):
            raise RefusedError(422, {"detail": "input must be an object", "status": 422})
        properties = schemas["Input"]["properties"]
        invalid = [
            {"field": name, "description": "Additional property is not allowed"}
            for name in values
            if name not in properties
        ]
        invalid += [
            {"field": name, "description": f"{name} is required"}
            for name in schemas["Input"]["required"]
            if name not in values
        ]
        for name, value in values.items():
            prop = properties.get(name, {})
            ref = next((part["$ref"] for part in prop.get("allOf", []) if "$ref" in part), None)
            enum = schemas[ref.rsplit("/", 1)[1]]["enum"] if ref else prop.get("enum")
            if enum is not None and value not in enum:
                invalid.append({"field": name, "description": f"{name} must be one of {enum}"})
        if invalid:
            raise RefusedError(
                422, {"detail": "Input validation failed", "status": 422, "invalid_fields": invalid}
            )

    # -- ElevenLabs ----------------------------------------------------------------------------------

    def _elevenlabs(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "GET" and path == "/v1/voices":
            voices = [{"voice_id": vid, "name": name, "category": "premade"} for name, vid in VOICES.items()]
            return 200, {"content-type": "application/json"}, json.dumps({"voices": voices}).encode()
        match = re.match(r"^/v1/text-to-speech/([A-Za-z0-9]+)(/with-timestamps)?$", path)
        if method == "POST" and match:
            unknown = sorted(set(query) - ELEVEN_TTS_QUERY)
            if unknown:
                raise RefusedError(
                    422, {"detail": {"status": "invalid_parameter", "message": f"unknown query {unknown[0]}"}}
                )
            request = self._strict(body, ELEVEN_TTS_FIELDS, 422, "text-to-speech")
            settings = request.get("voice_settings") or {}
            if set(settings) - ELEVEN_VOICE_SETTINGS or not 0.7 <= settings.get("speed", 1.0) <= 1.2:
                raise RefusedError(
                    422, {"detail": {"status": "invalid_voice_settings", "message": "bad voice_settings"}}
                )
            if match.group(1) not in VOICES.values():
                raise RefusedError(
                    404, {"detail": {"status": "voice_not_found", "message": "voice not found"}}
                )
            fmt = query.get("output_format", "mp3_44100_128")
            audio = (
                media()["mp3"]
                if fmt.startswith("mp3")
                else media()["wav"][44:]
                if fmt.startswith("pcm")
                else None
            )
            if audio is None:
                raise RefusedError(422, {"detail": {"status": "invalid_output_format", "message": fmt}})
            headers = {"request-id": "el_loopback", "character-cost": str(len(request["text"]))}
            if match.group(2):
                text = request["text"]
                alignment = {
                    "characters": list(text),
                    "character_start_times_seconds": [round(i * 0.05, 3) for i in range(len(text))],
                    "character_end_times_seconds": [round(i * 0.05 + 0.05, 3) for i in range(len(text))],
                }
                answer = {"audio_base64": base64.b64encode(audio).decode(), "alignment": alignment,
                          "normalized_alignment": alignment}  # fmt: skip
                return 200, {**headers, "content-type": "application/json"}, json.dumps(answer).encode()
            return 200, {**headers, "content-type": "audio/mpeg"}, audio
        if method == "POST" and path == "/v1/music":
            if set(query) - {"output_format"}:
                raise RefusedError(
                    422, {"detail": {"status": "invalid_parameter", "message": "unknown query"}}
                )
            request = self._strict(body, ELEVEN_MUSIC_FIELDS, 422, "music")
            if not 3000 <= request.get("music_length_ms", 30000) <= 600000:
                raise RefusedError(
                    422, {"detail": {"status": "invalid_length", "message": "music_length_ms"}}
                )
            if query.get("output_format", "mp3").startswith("wav"):
                raise RefusedError(
                    422, {"detail": {"status": "invalid_output_format", "message": "no wav for music"}}
                )
            return 200, {"content-type": "audio/mpeg", "song-id": "song_loopback"}, media()["mp3"]
        raise RefusedError(404, {"detail": {"status": "not_found", "message": f"no route {method} {path}"}})


def _answer_for(request: dict[str, Any]) -> Any:
    fmt = (request.get("text") or {}).get("format") or {}
    if fmt.get("type") != "json_schema":
        return "A slow pan across a glowing lava field at dusk."
    properties = fmt["schema"]["properties"]

    def count(prop: dict[str, Any]) -> int:
        found = re.search(r"(\d+)", prop.get("description", ""))
        return int(found.group(1)) if found else 1

    answer: dict[str, Any] = {}
    for name, prop in properties.items():
        if prop.get("type") == "array":
            answer[name] = [
                f"{name} {i + 1}: magma rises through cracks in the crust." for i in range(count(prop))
            ]
        else:
            answer[name] = f"The {name} of a movie about volcanoes"
    return answer


def _response(model: str, answer: Any) -> dict[str, Any]:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return {
        "id": "resp_loopback", "object": "response", "created_at": 1, "status": "completed",
        "model": f"{model}-2025-08-07",
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": []},
            {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": text, "annotations": []}]},
        ],
        "usage": {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1024}, "output_tokens": 300,
                  "output_tokens_details": {"reasoning_tokens": 100}, "total_tokens": 1500},
        "store": False,
    }  # fmt: skip


@contextmanager
def serving(keys: dict[str, str]) -> Iterator[FakeAPIs]:
    """The fake APIs, listening on 127.0.0.1 for the duration of the block."""
    fake = FakeAPIs(keys)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        thread.join(timeout=5)
