"""HTTP request connector, and :func:`send_json`, through which every HTTP-speaking connector sends.

Header values may carry secrets (API keys, bearer tokens): they are never logged, never
returned, never put in an error message, and are redacted from any response excerpt.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from django import forms
from django.forms.utils import pretty_name
from requests.structures import CaseInsensitiveDict

from orchestration import connections
from orchestration.connectors.base import Connector, ConnectorError, ConnectorField
from orchestration.connectors.registry import register

if TYPE_CHECKING:
    from orchestration.models import Connection

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
METHODS: Final[tuple[Method, ...]] = ("GET", "POST", "PUT", "PATCH", "DELETE")
# What each method does, in the words the designer shows.
METHOD_WORDS: Final[dict[Method, str]] = {
    "POST": "Send new information (create)",
    "GET": "Look something up",
    "PUT": "Replace what is there",
    "PATCH": "Change part of it (update)",
    "DELETE": "Remove it",
}
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
MAX_TIMEOUT_SECONDS: Final = 120.0
# A step's output is stored in the database: refuse bodies no workflow should carry.
MAX_RESPONSE_BYTES: Final = 2 * 1024 * 1024
EXCERPT_CHARS: Final = 300
# These 4xx mean "not now" rather than "never": the server itself asks to be tried again.
_RETRYABLE_CLIENT_STATUSES: Final = frozenset({408, 425, 429})
_PATH_SEGMENT = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")


_local = threading.local()


def _session() -> requests.Session:
    """This thread's HTTP session: it keeps connections open between steps (no new TCP and TLS
    handshake per call) and keeps no cookies, so nothing one call received is sent by another."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        _local.session = session
    return session


class HttpStatusError(ConnectorError):
    """The server answered outside 2xx; ``http_status`` lets a caller tell a refused request from others."""

    def __init__(self, message: str, *, status: int, retryable: bool) -> None:
        super().__init__(message, retryable=retryable)
        self.http_status = status


@dataclass(frozen=True)
class HttpReply:
    """A 2xx answer. ``body`` is parsed JSON when ``is_json``, otherwise the decoded text."""

    status: int
    body: Any
    is_json: bool


def send_json(
    method: Method,
    url: str,
    *,
    data: dict[str, Any],
    idempotency_key: str,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HttpReply:
    """Send ``data`` (JSON body, or query parameters for GET) and classify the outcome.

    Always sends ``Idempotency-Key: <idempotency_key>``. Returns the reply for a 2xx;
    raises :class:`ConnectorError`, retryable for connection errors, timeouts, 5xx and
    408/425/429, non-retryable for other 4xx, redirects and invalid requests.
    """
    target = _describe(method, url)
    merged: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers or {})
    merged["Accept"] = merged.get("Accept", "application/json")
    merged[IDEMPOTENCY_HEADER] = idempotency_key
    secrets = [value for value in (headers or {}).values() if value]
    try:
        response = _session().request(
            method,
            url,
            params=_query_params(data) if method == "GET" else None,
            json=None if method == "GET" else data,
            headers=merged,
            timeout=timeout,
            # A redirect would forward custom (secret) headers to wherever it points.
            allow_redirects=False,
            stream=True,
        )
    # requests' own messages embed the full URL, query string included: say it in our words.
    except requests.exceptions.SSLError:
        raise ConnectorError(f"{target}: TLS handshake failed.", retryable=False) from None
    except requests.exceptions.Timeout:
        raise ConnectorError(f"{target}: no answer within {timeout:g} s.", retryable=True) from None
    except requests.exceptions.ConnectionError:
        raise ConnectorError(
            f"{target}: could not connect. Nothing answered at that address: check that the system "
            "is running and that its address (the connection's base URL) is right, then retry.",
            retryable=True,
        ) from None
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise ConnectorError(f"{target}: invalid request ({type(exc).__name__}).", retryable=False) from None

    with response:
        try:
            raw, complete = _read_capped(response)
        except requests.exceptions.RequestException:
            raise ConnectorError(f"{target}: the connection broke while reading.", retryable=True) from None
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if 200 <= status < 300:
            if not complete:
                raise ConnectorError(
                    f"{target}: the response is larger than {MAX_RESPONSE_BYTES} bytes.", retryable=False
                )
            return _reply(status, raw, content_type)
        if 300 <= status < 400:
            location = _describe_url(response.headers.get("Location", ""))
            raise ConnectorError(
                f"{target} answered {status} (redirect to {location!r}); set the final URL.",
                retryable=False,
            )
        excerpt = _excerpt(_decode(raw, content_type), secrets)
        retryable = status >= 500 or status in _RETRYABLE_CLIENT_STATUSES
        raise HttpStatusError(
            f"{target} answered {status} {response.reason}: {excerpt}", status=status, retryable=retryable
        )


def _reply(status: int, raw: bytes, content_type: str) -> HttpReply:
    if _is_json_type(content_type) and raw.strip():
        try:
            return HttpReply(status=status, body=json.loads(raw), is_json=True)
        except (ValueError, RecursionError):  # RecursionError: nesting deep enough to exhaust the stack
            pass  # says JSON, is not: hand the text back and let the caller decide
    return HttpReply(status=status, body=_decode(raw, content_type), is_json=False)


def _read_capped(response: requests.Response) -> tuple[bytes, bool]:
    """The body up to MAX_RESPONSE_BYTES, and whether that was all of it (read no further)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks)[:MAX_RESPONSE_BYTES], False
    return b"".join(chunks), True


def _is_json_type(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or mime.endswith("+json")


def _decode(raw: bytes, content_type: str) -> str:
    charset = "utf-8"
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return raw.decode("utf-8", errors="replace")


def _excerpt(text: str, secrets: list[str]) -> str:
    # Some servers echo request headers in their error pages.
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        return text[: EXCERPT_CHARS - 1] + "…"
    return text or "(empty body)"


def _describe_url(url: str) -> str:
    """``url`` without credentials or query string, which may hold secrets."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "(invalid URL)"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _describe(method: str, url: str) -> str:
    return f"{method} {_describe_url(url)}"


def _query_params(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten JSON values into query parameters: lists repeat the key, objects go as JSON."""
    params: list[tuple[str, str]] = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            params.append((key, _query_value(item)))
    return params


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def pick(body: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``body``; integer segments index lists.

    Raises KeyError naming the first segment that is missing.
    """
    current = body
    for segment in path.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            raise KeyError(segment)
    return current


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def redacted(value: Any, secrets: list[str]) -> Any:
    """``value`` with every occurrence of a secret replaced, through lists and objects (keys too:
    a server may echo a secret as a key)."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, list):
        return [redacted(v, secrets) for v in value]
    if isinstance(value, dict):
        return {redacted(k, secrets): redacted(v, secrets) for k, v in value.items()}
    return value


class HttpRequestConfigForm(forms.Form):
    # What a business user sets; the rest goes under the panel's "Advanced".
    basic_fields: ClassVar[tuple[str, ...]] = ("connection", "url", "method")

    connection = forms.SlugField(
        label="System",
        required=False,
        max_length=100,
        help_text="The system to call, as an administrator set it up (its address and keys).",
    )
    url = forms.CharField(
        label="Path",
        required=False,
        max_length=2000,
        help_text="Where in that system, e.g. /orders; or a full https:// address without a system.",
    )
    method = forms.ChoiceField(
        label="What to do",
        choices=[(m, METHOD_WORDS[m]) for m in METHODS],
        required=False,
        initial="POST",
        help_text="The values to send go along with it.",
    )
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='A JSON object of non-secret headers, e.g. {"Accept-Language": "en"}. Put tokens in a Connection.',
    )
    timeout = forms.FloatField(
        required=False,
        min_value=0.1,
        max_value=MAX_TIMEOUT_SECONDS,
        initial=DEFAULT_TIMEOUT_SECONDS,
        help_text=f"Seconds; default {DEFAULT_TIMEOUT_SECONDS:g}, at most {MAX_TIMEOUT_SECONDS:g}.",
    )
    response_path = forms.CharField(
        required=False,
        max_length=500,
        help_text="Dotted path of the value to keep from a JSON response, e.g. data.items.0.id.",
    )

    def clean_connection(self) -> Connection | None:
        name: str = self.cleaned_data["connection"]
        if not name:
            return None
        try:
            return connections.find(name)
        except connections.ConnectionUnavailable as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        url = (cleaned.get("url") or "").strip()
        connection = cleaned.get("connection")
        if url and connection is not None:
            # A connection's secrets go to its own site only: a block may name a path, never another host.
            if not connection.base_url:
                self.add_error(
                    "connection", f"Connection {connection.name!r} has no base URL to send its secrets to."
                )
            elif not urlsplit(url).scheme:
                url = urljoin(connection.base_url.rstrip("/") + "/", url.lstrip("/"))
            elif _origin(url) != _origin(connection.base_url):
                self.add_error(
                    "url", f"With connection {connection.name!r}, use a path under {connection.base_url}."
                )
        if not url and connection is not None and connection.base_url:
            url = connection.base_url  # the connection's address is the whole target (a webhook)
        elif not url and not self.has_error("connection"):
            self.add_error("url", "Choose a system, or give a full https:// address.")
        if url and urlsplit(url).scheme not in {"http", "https"}:
            self.add_error(
                "url", "Use an http:// or https:// URL, or a path with a connection that has a base URL."
            )
        cleaned["url"] = url
        return cleaned

    def clean_method(self) -> str:
        # Bound forms ignore ``initial``: an empty value means the default.
        return self.cleaned_data["method"] or "POST"

    def clean_timeout(self) -> float:
        timeout: float | None = self.cleaned_data["timeout"]
        return DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout

    def clean_headers(self) -> dict[str, str]:
        text: str = self.cleaned_data["headers"].strip()
        if not text:
            return {}
        # Messages below name header *names* only: values may be secrets.
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            raise forms.ValidationError("Headers must be a JSON object.") from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError("Headers must be a JSON object.")
        for name, value in parsed.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise forms.ValidationError(f"{name!r} is not a valid header name.")
            if name.lower() == IDEMPOTENCY_HEADER.lower():
                raise forms.ValidationError(f"{IDEMPOTENCY_HEADER} is set by Baton for every request.")
            if not isinstance(value, str) or "\r" in value or "\n" in value:
                raise forms.ValidationError(f"The value of {name!r} must be a single-line string.")
        return parsed

    def clean_response_path(self) -> str:
        path: str = self.cleaned_data["response_path"].strip()
        if path and not _PATH_SEGMENT.match(path):
            raise forms.ValidationError("Use names separated by dots, e.g. data.items.0.id.")
        return path


@register
class HttpRequestConnector(Connector):
    """Call an HTTP API with the step's inputs and return its answer."""

    name = "http.request"
    label = "HTTP request"
    description = (
        "Sends values to another system and gives back its answer. If the system is down or slow, "
        "it tries again."
    )
    config_form = HttpRequestConfigForm
    outputs = (
        ConnectorField("status", "Answer code", "integer", help="200 to 299 means the system accepted it."),
        ConnectorField("body", "Answer", "dyn", help="What the system sent back."),
    )
    example_output: ClassVar[dict[str, Any]] = {"status": 200, "body": {}}

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> list[str]:
        """Settings the step could never run with, said at publish: no system nor address, an address
        that is not http(s), headers that are not a JSON object, a timeout out of range.

        Whether a named connection exists is checked when the step runs (administrators may add it
        after publishing); a path is then taken relative to it.
        """
        named = str(config.get("connection") or "").strip()
        form = cls.config_form(data={**config, "connection": ""})
        if form.is_valid():
            return []
        problems = []
        for field, errors in form.errors.items():
            if named and field in ("url", "__all__"):
                continue
            label = form.fields[field].label if field in form.fields else None
            problems.append(
                f"needs its settings fixed: {label or pretty_name(field)}: {' '.join(str(e) for e in errors)}"
            )
        return problems

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Send the request; return ``{"status": int, "body": JSON value or text}``."""
        form = self.config_form(data=config)
        if not form.is_valid():
            # The form's messages name fields and limits, never the submitted header values.
            problems = "; ".join(
                f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
            )
            raise ConnectorError(f"Invalid HTTP request settings ({problems})", retryable=False)
        cleaned = form.cleaned_data
        headers = dict(cleaned["headers"])
        secrets: list[str] = []
        if cleaned["connection"] is not None:
            try:
                secret = connections.secret_headers(cleaned["connection"])
            except connections.ConnectionUnavailable as exc:
                raise ConnectorError(str(exc), retryable=False) from None
            headers.update(secret)
            secrets = [value for value in secret.values() if value]
        reply = send_json(
            cleaned["method"],
            cleaned["url"],
            data=data,
            idempotency_key=idempotency_key,
            headers=headers,
            timeout=cleaned["timeout"],
        )
        if secrets:  # a server echoing the request must not put the secret into the step's output
            reply = HttpReply(reply.status, redacted(reply.body, secrets), reply.is_json)
        path: str = cleaned["response_path"]
        if not path:
            return {"status": reply.status, "body": reply.body}
        if not reply.is_json:
            raise ConnectorError(
                f"{_describe(cleaned['method'], cleaned['url'])} answered {reply.status} without JSON, "
                f"so response path {path!r} cannot be read.",
                retryable=False,
            )
        try:
            picked = pick(reply.body, path)
        except KeyError as exc:
            raise ConnectorError(
                f"Response path {path!r}: {exc.args[0]!r} is not in the response.", retryable=False
            ) from None
        return {"status": reply.status, "body": picked}
