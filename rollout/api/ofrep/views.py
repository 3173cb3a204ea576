"""OFREP's two endpoints, plain Django views at the standard's own URLs (outside ninja: the
protocol defines every status and body, and the single evaluation is as hot as the native
decision endpoint).

Each request: the token (Authorization: Bearer, or X-API-Key) → the rate limit → the flag key
(single) → the body → the decision from decide_cached. Warm, that is no database query: the
token and the decision both come from memory or the shared cache.
"""

import functools
import json
import math
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rollout.api.checks import MAX_DEPTH, MSG_NOT_JSON, UnreadableBody, read_json
from rollout.api.edge import View, guarded
from rollout.api.errors import WWW_AUTHENTICATE, json_error, unexpected_error
from rollout.api.limits import MSG_BODY_TOO_LARGE, body_too_large
from rollout.api.ofrep import answers
from rollout.api.ofrep.answers import ErrorCode
from rollout.api.throttling import TokenRateThrottle
from rollout.models import ApiToken
from rollout.selectors.decision import UnknownWorkflow, decide_cached
from rollout.services.api_tokens import api_token_authenticate, api_token_refusal

JSON = "application/json"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # as the native API's `user`
_THROTTLE = TokenRateThrottle()
_SMALL = 4096  # bytes: a context with a few attributes


def _json(body: bytes | dict[str, Any], status: int = 200) -> HttpResponse:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return HttpResponse(body, status=status, content_type=JSON)


class Refused(Exception):
    """A request answered with an error before any evaluation; `response` is the answer."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def _plaintext(request: HttpRequest) -> str | None:
    """The token sent as a bearer or as X-API-Key; "" if none; None if the two differ (a
    request holding a wrong token is refused, whatever else it holds)."""
    # META, not request.headers: building the headers mapping costs more than the lookup.
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    bearer = value.strip() if scheme.lower() == "bearer" else ""
    api_key = request.META.get("HTTP_X_API_KEY", "").strip()
    if bearer and api_key and bearer != api_key:
        return None
    return bearer or api_key


def _admitted(request: HttpRequest) -> ApiToken:
    """The request's token, counted by the rate limit; raises Refused with the 401 or 429."""
    plaintext = _plaintext(request)
    token = api_token_authenticate(plaintext) if plaintext else None
    if token is None:
        if plaintext is None:
            message = answers.MSG_TWO_TOKENS
        elif plaintext:
            message = api_token_refusal(plaintext)  # a rotated token is told it was replaced
        else:
            message = answers.MSG_MISSING_TOKEN
        # The spec gives a 401 no body; this is its general error shape.
        response = _json({"errorDetails": message}, status=401)
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
        raise Refused(response)
    request.auth = token  # the throttle counts by it
    if not _THROTTLE.allow_request(request):
        response = _json({"errorDetails": answers.MSG_RATE_LIMITED}, status=429)
        # Whole seconds: the Python provider reads only those (or an HTTP date).
        response["Retry-After"] = str(max(1, math.ceil(_THROTTLE.wait())))
        raise Refused(response)
    return token


def _read(body: bytes) -> Any:
    """The body as JSON. The usual one, small and shallow, goes to the standard decoder, which
    is built once: read_json builds one per call for its non-finite hooks, which OFREP needs
    not — a non-finite number in an ignored attribute changes nothing, and as the targetingKey
    it is no string. Larger or deeper bodies get read_json's depth limit."""
    if len(body) <= _SMALL and body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        try:
            return json.loads(body)
        except ValueError as exc:  # also UnicodeDecodeError
            raise UnreadableBody(MSG_NOT_JSON) from exc
    return read_json(body)[0]


def _person(body: bytes) -> tuple[ErrorCode, str] | str:
    """The context's targetingKey, or the error code and details that refuse the body."""
    try:
        payload = _read(body)
    except UnreadableBody as exc:
        return ErrorCode.PARSE_ERROR, exc.message
    if not isinstance(payload, dict):
        return ErrorCode.PARSE_ERROR, answers.MSG_NOT_AN_OBJECT
    if "context" not in payload:
        # What the Python provider sends when the application gives no context.
        return ErrorCode.TARGETING_KEY_MISSING, answers.MSG_NO_CONTEXT
    context = payload["context"]
    if not isinstance(context, dict):
        return ErrorCode.INVALID_CONTEXT, answers.MSG_CONTEXT_NOT_AN_OBJECT
    ref = context.get("targetingKey")
    if ref is None:
        return ErrorCode.TARGETING_KEY_MISSING, answers.MSG_NO_TARGETING_KEY
    if not isinstance(ref, str):
        return ErrorCode.INVALID_CONTEXT, answers.MSG_TARGETING_KEY_NOT_TEXT
    ref = ref.strip()
    if not ref:
        return ErrorCode.TARGETING_KEY_MISSING, answers.MSG_NO_TARGETING_KEY
    if len(ref) > answers.MAX_TARGETING_KEY:
        return ErrorCode.INVALID_CONTEXT, answers.MSG_TARGETING_KEY_TOO_LONG
    if _CONTROL.search(ref) or not _encodable(ref):
        return ErrorCode.INVALID_CONTEXT, answers.MSG_TARGETING_KEY_CONTROL
    return ref


_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII
)


def _query_problem(request: HttpRequest) -> str | None:
    """What is wrong with the bulk request's query, if anything. OFREP defines two optional
    parameters, sent after a change notification (ADR-0008): flagConfigEtag, any text, and
    flagConfigLastModified, Unix seconds or an RFC 3339 date-time. Rollout sends no change
    notifications and evaluates afresh anyway, so they change nothing; a malformed one is
    refused as the spec's schema refuses it. Other parameters are ignored."""
    raw = request.META.get("QUERY_STRING", "")
    if "flagConfigLastModified" not in raw:
        return None  # the usual request: no parsing
    try:
        pairs = parse_qsl(raw.encode("iso-8859-1").decode(), keep_blank_values=True)
    except (UnicodeError, ValueError):
        return answers.MSG_BAD_QUERY
    for name, value in pairs:
        if name != "flagConfigLastModified":
            continue
        if value.isascii() and value.isdigit():
            continue
        if not _RFC3339.fullmatch(value):
            return answers.MSG_BAD_LAST_MODIFIED
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            return answers.MSG_BAD_LAST_MODIFIED
    return None


def _encodable(text: str) -> bool:
    # JSON may escape a lone surrogate ("\ud800"): Python reads it, UTF-8 (the cache key, the
    # database) cannot encode it.
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _not_found(key: str) -> HttpResponse:
    return _json(answers.error(ErrorCode.FLAG_NOT_FOUND, answers.MSG_FLAG_NOT_FOUND, key), 404)


@require_POST
def _evaluate_flag(request: HttpRequest, key: str) -> HttpResponse:
    try:
        token = _admitted(request)
    except Refused as refused:
        return refused.response
    # Another workflow's slug and a missing one get the same answer: existence is not leaked.
    if key != token.workflow.slug:
        return _not_found(key)
    person = _person(request.body)
    if isinstance(person, tuple):
        return _json(answers.error(*person, key=key), status=400)
    try:
        decision = decide_cached(key, person)
    except UnknownWorkflow:  # renamed or deleted since the token was looked up
        return _not_found(key)
    return _json(answers.evaluation_bytes(key, decision))


@require_POST
def _evaluate_flags(request: HttpRequest) -> HttpResponse:
    try:
        token = _admitted(request)
    except Refused as refused:
        return refused.response
    query_problem = _query_problem(request)
    if query_problem is not None:
        return _json(answers.error(ErrorCode.PARSE_ERROR, query_problem), status=400)
    person = _person(request.body)
    if isinstance(person, tuple):
        return _json(answers.error(*person), status=400)
    slug = token.workflow.slug
    try:
        flags = [answers.evaluation(slug, decide_cached(slug, person))]
    except UnknownWorkflow:  # renamed or deleted since the token was looked up: no flag
        flags = []
    body = answers.bulk_bytes(flags)
    etag = answers.etag(body)
    # OFREP answers a matching If-None-Match on this POST with 304 (RFC 9110 would say 412 for
    # a method other than GET or HEAD; the protocol defines the bulk request as a read).
    if answers.none_match(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = _json(body)
    response["ETag"] = etag
    return response


def _at_the_edge(view: View) -> View:
    """`view` behind edge.guarded (body limit, JSON on every error, a lost connection answered
    again: both endpoints only read), open to requests without a session or CSRF token (the
    API token authenticates them)."""
    checked = guarded(view, repeatable=True)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if "\x00" not in request.path and "%00" not in request.META.get("QUERY_STRING", ""):
            return checked(request, *args, **kwargs)
        # guarded refuses a NUL in the path or query in the native API's shape, because it would
        # reach PostgreSQL as an error. Here the query is never read and the key is only compared
        # in Python with the token's slug: the view answers (an unknown key's 404).
        if body_too_large(request):
            return json_error(413, MSG_BODY_TOO_LARGE)
        try:
            return view(request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 — answered as guarded answers it
            return unexpected_error(request, exc)

    return csrf_exempt(login_not_required(wrapper))


MSG_UNKNOWN_PATH = (
    "OFREP has no operation at this path. Rollout answers POST /ofrep/v1/evaluate/flags/{key}"
    " and POST /ofrep/v1/evaluate/flags (/ofrep/v1/configuration is no longer in the protocol)."
)


def _unknown_path(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under /ofrep/: the protocol's JSON error shape, not the site's HTML page
    (a provider reads the body as JSON). The same for everyone: a path names no workflow."""
    return _json({"errorCode": ErrorCode.GENERAL, "errorDetails": MSG_UNKNOWN_PATH}, 404)


ofrep_evaluate_flag = _at_the_edge(_evaluate_flag)
ofrep_evaluate_flags = _at_the_edge(_evaluate_flags)
ofrep_unknown_path = _at_the_edge(_unknown_path)
