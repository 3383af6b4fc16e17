"""The page's first race, inside the page itself.

Dash starts its callbacks only once every component's code has loaded, the 4.8 MB of plotly.js
among them: about two seconds (headless Chromium, two shared cores) before the first race could
even be asked for. So the page that a link opens carries that link's race and map data in a
JSON script element, and the player draws it on its own canvas (assets/mapframe.js: the flat
maps, and the 3-D view's surface in Plotly's camera) while the rest of the page loads. The race
callback then delivers the same race, and the player carries on where it is.

Only races that cost nothing to make and can play at once go in: a built-in surface whose
functions are compiled, and not "predict first" (students pick a winner before the race plays).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict

import flask

from . import state as link
from .controls import CUSTOM, UPLOAD
from .payload import race_payload, surface_payload
from .race import engine_ready, race_result
from .scenarios import decode_link

ELEMENT_ID = "first-race"
log = logging.getLogger(__name__)


def first_race(search: str) -> dict | None:
    """What the page for this link's query shows first: the race and surface payloads exactly as
    the callbacks will send them, the view and the optimizers shown; None when the page should
    wait for its callbacks (a typed formula or uploaded examples, "predict first", or an engine
    still compiling)."""
    try:
        linked = decode_link(search)
    except ValueError:  # the link's formula is not allowed: the callbacks say so
        return None
    if linked.surface in (CUSTOM, UPLOAD) or linked.predict or not engine_ready(linked.surface):
        return None
    # the page's controls read back: the state the race callback will see
    state = link.parse(linked.controls())[0]
    model = state.surface_model
    race = race_payload(race_result(state), model)
    shown = [oid for oid in race["ids"] if oid not in state.hidden]
    surface = surface_payload(model)
    return {"race": race, "surface": surface, "view": state.view, "visible": shown}


_elements: OrderedDict[str, str] = OrderedDict()  # query → element, the last few links opened
_elements_lock = threading.Lock()
CACHED_LINKS = 32


def first_race_element(search: str) -> str:
    """The script element that carries `first_race(search)`, or "" (never an error: the page
    then simply waits for its callbacks). Kept for the last few links: a class opens the same
    link at once, and the element is 0.2 MB of JSON."""
    with _elements_lock:
        if search in _elements:
            _elements.move_to_end(search)
            return _elements[search]
    element = _make_element(search)
    if element:  # (an empty one may be a surface still compiling: asked again next time)
        with _elements_lock:
            _elements[search] = element
            while len(_elements) > CACHED_LINKS:
                _elements.popitem(last=False)
    return element


def _make_element(search: str) -> str:
    try:
        payload = first_race(search)
    except Exception:  # the page must open whatever a link says
        log.exception("the first race of %r could not be made", search[:200])
        return ""
    if payload is None:
        return ""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    # inside <script> nothing may close the element: JSON keeps its meaning with these escaped
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script id="{ELEMENT_ID}" type="application/json">{text}</script>'


def install_first_race(app) -> None:
    """Put the first race into every page Dash serves (its index, after the app's root element)."""
    render = app.interpolate_index

    def interpolate_index(**kwargs):
        query = flask.request.query_string.decode("utf-8", "replace") if flask.has_request_context() else ""
        kwargs["app_entry"] = kwargs.get("app_entry", "") + first_race_element(query)
        return render(**kwargs)

    app.interpolate_index = interpolate_index
