"""Optimizer Race: nine optimizers racing over 2-D loss surfaces, in the browser.

    python app.py [--host 127.0.0.1] [--port 8050] [--debug]

`server` is the Flask app, for a WSGI server: `make serve` runs it with gunicorn and
gunicorn.conf.py (see README, "Serving a class").
"""

from __future__ import annotations

import argparse

from dash import Dash

from webapp.callbacks import register_callbacks
from webapp.first_race import install_first_race
from webapp.guard import install_request_guard
from webapp.lab import register_lab_callbacks
from webapp.layout import build_layout
from webapp.race import start_warm_up
from webapp.static_layout import install_static_layout
from webapp.timing import server_timing

# A race request is a few kB; the largest is an upload of examples (1 MB of CSV, 1.34 MB as
# base64 in its JSON: surfaces/examples_csv.py). Anything larger is refused.
MAX_REQUEST_BYTES = 1536 * 1024


def create_app() -> Dash:
    app = Dash(
        __name__,
        title="Optimizer Race",
        compress=True,  # flask-compress: zstd, br or gzip, as the browser accepts (plotly.js, race payloads)
        update_title=None,
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)  # the page's language, for screen readers
    app.layout = build_layout()
    install_static_layout(app)  # the layout's JSON encoded once per worker, not per page opened
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    # The races are base64 float32, which compression mostly shrinks by base64's own overhead:
    # brotli and gzip at level 1 lose about 2 % of that against their defaults, for a half to a
    # third of the CPU; zstd (which current browsers ask for first) at level 1 the same size as
    # at its default 3, for 0.23 ms instead of 0.33 ms per 100 kB race.
    app.server.config.update(COMPRESS_BR_LEVEL=1, COMPRESS_LEVEL=1, COMPRESS_ZSTD_LEVEL=1)
    install_request_guard(app)
    install_first_race(app)  # the first race inside the page: drawn before plotly.js has loaded
    register_callbacks(app)
    register_lab_callbacks(app)
    start_warm_up()  # compiles the engine for every built-in surface while the server starts
    app.server.wsgi_app = server_timing(app.server.wsgi_app)  # Server-Timing: app ms, CPU ms, worker pid
    return app


app = create_app()
server = app.server


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve Optimizer Race.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    parser.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, dev tools)")
    args = parser.parse_args(argv)
    app.run(host=args.host, port=args.port, debug=args.debug, dev_tools_disable_version_check=True)


if __name__ == "__main__":
    main()
