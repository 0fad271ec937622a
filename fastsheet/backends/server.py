"""Talking to the user's own OpenAI-compatible inference server (llama.cpp, vLLM, Ollama).

Opt-in only: nothing here runs unless the user names a server. One pooled HTTP client,
timeouts on every request, retries with backoff on what may pass (a refused connection,
a timeout, HTTP 408/429/5xx). An API key comes from an environment variable, never from
a project file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from fastsheet.data.errors import BackendFailure, ModelError

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per row at INFO

API_KEY_ENV = "FASTSHEET_API_KEY"
DEFAULT_CONCURRENCY = 16
#: the wire formats a server may speak: OpenAI-style completions, or System One (Jev)
OPENAI, SYSTEM_ONE = "openai", "systemone"
#: the model a System One request names when the user names none
SYSTEM_ONE_MODEL = "jev-latest"


class ServerError(BackendFailure):
    """The server failed a request (fatal: down, or missing a feature it needs);
    `status`: the HTTP status of a refused request."""

    def __init__(self, message: str, fatal: bool = False, status: int | None = None) -> None:
        super().__init__(message, fatal)
        self.status = status


@dataclass(frozen=True)
class ServerSettings:
    """Where the server is and how hard to use it."""

    url: str
    model: str | None = None  # None: the first model the server lists
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = 120.0  # seconds for one answer (a busy server queues requests)
    retries: int = 3
    protocol: str = OPENAI  # or SYSTEM_ONE

    @property
    def base(self) -> str:
        return api_base(self.url)

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc


def api_base(url: str) -> str:
    """`http://host:port` or `…/v1` as the API's base URL (ending in /v1)."""
    text = url.strip().rstrip("/")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelError(
            f"{url!r} is not a server address: give one like http://127.0.0.1:8080 "
            "(llama-server), http://gpu-box:8000/v1 (vLLM) or http://localhost:11434 (Ollama)."
        )
    return text if text.endswith("/v1") else text + "/v1"


def headers() -> dict[str, str]:
    key = os.environ.get(API_KEY_ENV, "").strip()
    return {"Authorization": f"Bearer {key}"} if key else {}


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message", error) if isinstance(error, dict) else error
        field = error.get("field") if isinstance(error, dict) else None
        text = str(message) + (f" (field: {field})" if field else "")
    except ValueError:
        text = response.text
    return " ".join(text.split())[:300]


def unreachable(host: str, reason: str) -> ServerError:
    return ServerError(
        f"The inference server at {host} {reason}. Answers received so far are kept. "
        "Check that the server is running, or switch back to the local model.",
        fatal=True,
    )


def list_models(settings: ServerSettings) -> list[str]:
    """The model ids the server offers (GET /v1/models)."""
    try:
        with httpx.Client(timeout=httpx.Timeout(10.0), headers=headers()) as client:
            response = client.get(settings.base + "/models")
    except httpx.TimeoutException:
        raise unreachable(settings.host, "did not answer within 10 s") from None
    except httpx.TransportError as exc:
        raise unreachable(settings.host, f"could not be reached ({exc})") from None
    if response.status_code in (401, 403):
        raise ServerError(
            f"The server at {settings.host} refused the API key (HTTP {response.status_code}): "
            f"set ${API_KEY_ENV} to a key it accepts.",
            fatal=True,
        )
    if response.status_code >= 400:
        raise ServerError(
            f"The server at {settings.host} has no OpenAI-compatible model list "
            f"(GET /v1/models: HTTP {response.status_code}, {_detail(response)}).",
            fatal=True,
        )
    try:
        return [str(m["id"]) for m in response.json().get("data", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ServerError(
            f"The server at {settings.host} answered GET /v1/models with something that is "
            "not an OpenAI-compatible model list.",
            fatal=True,
        ) from None


class Connection:
    """One pooled async client, used from one thread's private event loop."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            n = max(1, self.settings.concurrency)
            self._client = httpx.AsyncClient(
                base_url=self.settings.base,
                headers=headers(),
                timeout=httpx.Timeout(self.settings.timeout, connect=10.0),
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            )
        return self._client

    async def post(self, path: str, body: dict) -> dict:
        """POST with retries; ServerError when it keeps failing (or is refused)."""
        host = self.settings.host
        reason = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                await asyncio.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
            try:
                response = await self.client().post(path, json=body)
            except httpx.TimeoutException:
                reason = f"did not answer within {self.settings.timeout:.0f} s"
                continue
            except httpx.TransportError as exc:
                reason = f"could not be reached ({type(exc).__name__}: {exc})"
                continue
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError:
                    reason = "answered with something that is not JSON"
                    continue
            if response.status_code in (408, 429) or response.status_code >= 500:
                reason = f"kept failing (HTTP {response.status_code}: {_detail(response)})"
                continue
            if response.status_code in (401, 403):
                raise ServerError(
                    f"The server at {host} refused the API key (HTTP {response.status_code}): "
                    f"set ${API_KEY_ENV} to a key it accepts.",
                    fatal=True,
                )
            raise ServerError(
                f"The server at {host} refused the request "
                f"(HTTP {response.status_code}: {_detail(response)}).",
                status=response.status_code,
            )
        log.warning("server %s: %s after %d tries", host, reason, self.settings.retries + 1)
        raise unreachable(host, reason + f" after {self.settings.retries + 1} tries")

    def reset(self) -> None:
        """Drop the pool (after a batch was cancelled in flight): the next request opens a
        fresh connection, so one a cancelled request left half-read cannot keep it waiting."""
        client, self._client = self._client, None
        if client is not None and not self.loop.is_running():
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(client.aclose())

    def close(self) -> None:
        """Close the pool and the private loop, from a thread of its own: the caller may
        be running another event loop (the app's)."""
        if self.loop.is_closed() or self.loop.is_running():  # in use: the owner closes it
            return

        def shut() -> None:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self.loop.run_until_complete(self._client.aclose())
                self._client = None
            self.loop.close()

        closer = threading.Thread(target=shut, name="fastsheet-server-close")
        closer.start()
        closer.join(10)
