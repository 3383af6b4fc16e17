"""The page's layout, encoded once per worker.

Every page opened asks for `/_dash-layout`, and Dash encodes the whole component tree to JSON
for each request: 7.6 ms of CPU here, which 200 students opening the page within a second pay
at once. This app's layout is a fixed tree (`app.layout = build_layout()`, not a function), so
its JSON is the same for everyone: it is encoded on the first request and served as is after.
"""

from __future__ import annotations

import threading

from dash._utils import to_json


def install_static_layout(app) -> None:
    """Serve `app`'s layout from its first encoding (the app's layout must not be a function)."""
    if callable(app.layout):
        raise ValueError("a layout made per request cannot be encoded once")
    endpoint = app.config.routes_pathname_prefix + "_dash-layout"
    if endpoint not in app.server.view_functions:  # Dash registers its routes when it is made
        raise RuntimeError(f"Dash serves no {endpoint} to replace")
    encoded: list[str] = []
    lock = threading.Lock()

    def serve_layout():
        if not encoded:
            with lock:
                if not encoded:
                    encoded.append(to_json(app.get_layout()))  # what Dash's own view sends
        return app.backend.make_response(encoded[0], mimetype="application/json")

    app.server.view_functions[endpoint] = serve_layout
