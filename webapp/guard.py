"""A malformed request to the Dash callback endpoint gets a clean 400, never a 500.

Dash trusts the shape of the JSON a browser posts (output ids, inputs, state). Anyone can post
anything, so the shape is checked before Dash sees it, and what still breaks inside Dash's
dispatch (a well-formed body naming inputs a callback does not have, say) is answered as a bad
request. Errors inside our own callbacks never get here: each callback handles its own. A
chunked body that reaches the size limit (MAX_CONTENT_LENGTH) gets a clean 413, as a body whose
Content-Length is over it does.
"""

from __future__ import annotations

import logging

from flask import abort, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
DISPATCH_SUFFIX = "_dash-update-component"


def _bad(reason: str):
    response = jsonify({"error": f"malformed callback request: {reason}"})
    response.status_code = 400
    return response


def _problem(body, known_outputs) -> str | None:
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("output") not in known_outputs:
        return "unknown output"
    for key in ("inputs", "outputs"):
        if key not in body:
            return f"missing {key!r}"
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list):
            return f"{key!r} is not a list"
        for item in items:
            entries = item if isinstance(item, list) else [item]
            if not all(isinstance(e, dict) and "id" in e and isinstance(e.get("property"), str) for e in entries):
                return f"an item of {key!r} has no id or property"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "'changedPropIds' is not a list of strings"
    if not isinstance(body["outputs"], (list, dict)):
        return "'outputs' is not a list"
    return None


def _refuse_a_long_streamed_body() -> None:
    """413 for a chunked body (no Content-Length) that reaches MAX_CONTENT_LENGTH. A server that
    streams the body to the app (gunicorn) leaves the limit to Werkzeug, which stops reading at
    it without saying so: the app would see the first MAX_CONTENT_LENGTH bytes as if they were the whole body.
    (A body with a Content-Length over the limit is refused by Flask before it is read; waitress
    reads a chunked body itself and passes its length on.)"""
    limit = request.max_content_length
    if limit is None or request.content_length is not None:
        return
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        if len(request.get_data(cache=True)) >= limit:
            abort(413)


def install_request_guard(app) -> None:
    server = app.server

    @server.before_request
    def check_callback_request():
        _refuse_a_long_streamed_body()
        if request.method != "POST" or not request.path.endswith(DISPATCH_SUFFIX):
            return None
        body = request.get_json(silent=True)
        problem = _problem(body, app.callback_map)
        return _bad(problem) if problem else None

    @server.errorhandler(Exception)
    def refuse(error):
        if isinstance(error, HTTPException):  # 404, 405, 413…: Flask's own clean answers
            return error
        if request.path.endswith(DISPATCH_SUFFIX):
            log.warning("refused a callback request Dash could not dispatch: %r", error)
            return _bad("it does not match the callback")
        if request.method == "GET":  # e.g. a script Dash does not serve: it is not here
            log.warning("not found: %s (%r)", request.path, error)
            response = jsonify({"error": "not found"})
            response.status_code = 404
            return response
        log.exception("unhandled error")
        response = jsonify({"error": "internal error"})
        response.status_code = 500
        return response
