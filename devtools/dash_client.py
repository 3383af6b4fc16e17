"""A small Dash client for load and fuzz tests: it builds callback requests from the running
app's own `/_dash-layout` and `/_dash-dependencies`, so it keeps working when callbacks or inputs
are added.

    http = HttpClient("http://127.0.0.1:8050")        # loopback only
    app = DashApp.fetch(http)                          # layout + callback graph, read-only
    tab = Session(app)                                 # one browser tab: its own prop values
    tab.change({"slider-lr.value": -1.5}, send)        # runs the callback chain, like the page

- `DashApp.callback_for("race-data.data")`: the server-side callback with that output.
- `DashApp.body(cb, values)`: a request body for any server-side callback, with any (hostile)
  value in each input and state (`value_for=`), in the renderer's exact shape (pattern-matching
  inputs become lists of concrete ids).
- `Session.change(...)`: sets props, then fires every server-side callback they trigger, in
  dependency order, applying each response to the tab's values before the next request (a
  surface change posts the surface callback, then the race callback with the new start and
  learning rate).
- `Session.slider_change(id, value)`, `random_slider_change()`, `random_surface_change()`,
  `random_start_click()`: what a student does ("slider X to value V", "another surface", "a
  click on the map"), as changes to pass to `Session.change`.
- `Session.load(send)`: the callbacks a page load fires.

Only the standard library (plus the decoders the app's compression already installs).
"""

from __future__ import annotations

import copy
import gzip
import http.client
import ipaddress
import json
import random
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

import brotli  # installed with dash[compress]
import orjson  # a runtime dependency (requirements.txt)

try:
    from compression import zstd  # Python ≥ 3.14
except ImportError:
    from backports import zstd  # installed with dash[compress] (flask-compress)

WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")
CALLBACK_PATH = "/_dash-update-component"
# What headless Chromium sends; the server then picks zstd, as it does for a real student.
BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"


# ---------------------------------------------------------------------------------------------
# HTTP (loopback only, keep-alive, wire bytes measured before decompression)


def require_loopback(url: str) -> tuple[str, int]:
    """(host, port) of `url`, refusing anything that is not this machine's loopback."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http://127.0.0.1:PORT or http://localhost:PORT URLs, not {url!r}")
    host, port = parts.hostname, parts.port or 80
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except OSError as err:
        raise ValueError(f"cannot resolve {host!r}: {err}") from None
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            raise ValueError(f"{url!r} resolves to {address}, which is not a loopback address; "
                             "load and fuzz tests only target this machine")
    return host, port


def _decoder(encoding: str) -> Callable[[bytes], bytes]:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda b: b
    if encoding == "gzip":
        return gzip.decompress
    if encoding == "deflate":
        return lambda b: zlib.decompress(b, -zlib.MAX_WBITS) if b[:1] != b"\x78" else zlib.decompress(b)
    if encoding == "br":
        return brotli.decompress
    if encoding == "zstd":
        return zstd.decompress
    raise ValueError(f"unknown Content-Encoding {encoding!r}")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes  # decoded (decompressed)
    wire_bytes: int  # body bytes as sent, before decompression
    seconds: float
    _strict: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self, strict: bool = True) -> Any:
        """The body as JSON; with `strict`, NaN / Infinity / -Infinity raise ValueError. The
        strict parse is done once per response (a race is ~200 kB: the load generator should
        not eat the CPU the server is measured on)."""
        if not strict:
            return json.loads(self.text)
        if self._strict is None:
            try:
                self._strict = (loads_strict(self.body), None)
            except ValueError as err:
                self._strict = (None, err)
        value, error = self._strict
        if error is not None:
            raise error
        return value


def loads_strict(text: str | bytes) -> Any:
    """Strict JSON, as browsers' JSON.parse reads it: NaN, Infinity, -Infinity and numbers that
    overflow a double (1e999) raise ValueError (orjson: RFC 8259, and 5-10× faster than json.loads,
    so that the load generator leaves the CPU to the server it measures)."""
    return orjson.loads(text)


class HttpClient:
    """One keep-alive connection to a loopback server, like one browser tab's."""

    def __init__(self, base_url: str, timeout: float = 30.0,
                 accept_encoding: str = BROWSER_ACCEPT_ENCODING):
        self.base_url = base_url.rstrip("/")
        self.host, self.port = require_loopback(self.base_url)
        self.timeout = timeout
        self.accept_encoding = accept_encoding
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> Response:
        hdrs = {"Accept-Encoding": self.accept_encoding, "Accept": "application/json"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for attempt in (0, 1):  # one retry: the server may have closed an idle keep-alive socket
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            t0 = time.perf_counter()
            try:
                try:
                    self._conn.request(method, path, body=body, headers=hdrs)
                except (BrokenPipeError, ConnectionResetError):
                    # the server may have answered before reading the whole body (a 413 for a body
                    # over its limit) and closed: its answer is still there to read
                    if body is None:
                        raise
                resp = self._conn.getresponse()
                raw = resp.read()
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.close()
                if attempt:
                    raise
                continue
            seconds = time.perf_counter() - t0
            headers_out = {k.lower(): v for k, v in resp.getheaders()}
            if headers_out.get("connection", "").lower() == "close" or resp.will_close:
                self.close()
            decoded = _decoder(headers_out.get("content-encoding", ""))(raw) if raw else raw
            return Response(resp.status, headers_out, decoded, len(raw), seconds)
        raise AssertionError("unreachable")

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
        return self.request("POST", path, body=body, headers=headers)

    def post_json(self, path: str, obj: Any) -> Response:
        # allow_nan: hostile tests may send NaN on purpose (Python's json and Flask accept it)
        return self.post(path, json.dumps(obj, allow_nan=True).encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Ids and dependencies, exactly as dash-renderer spells them


def stringify_id(id_: Any) -> str:
    """The renderer's (and dash._utils') string for an id: dict ids with sorted keys."""
    if isinstance(id_, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(id_[k])}" for k in sorted(id_)) + "}"
    return id_


def parse_id(text: str) -> Any:
    return json.loads(text) if text.startswith("{") else text


def prop_key(id_: Any, prop: str) -> str:
    return f"{stringify_id(id_)}.{prop}"


@dataclass(frozen=True)
class Dependency:
    id: Any  # str, or dict whose values may be wildcards ["ALL"], ["MATCH"], ["ALLSMALLER"]
    property: str

    @classmethod
    def from_json(cls, d: Mapping) -> "Dependency":
        return cls(parse_id(d["id"]) if isinstance(d["id"], str) else d["id"], d["property"])

    # Read for every input of every callback at every change: worked out once per dependency
    # (the load generator's CPU is taken from the server it measures).
    @cached_property
    def is_pattern(self) -> bool:
        return isinstance(self.id, dict) and any(
            isinstance(v, list) and len(v) == 1 and v[0] in WILDCARDS for v in self.id.values())

    @cached_property
    def id_text(self) -> str:
        return stringify_id(self.id)

    @cached_property
    def key(self) -> str:
        return prop_key(self.id, self.clean_property)

    @cached_property
    def clean_property(self) -> str:
        """The property without an `allow_duplicate` suffix ("children@3f2a..." -> "children")."""
        return self.property.split("@", 1)[0]

    def refers_to(self, other: "Dependency") -> bool:
        """Whether this output and `other` (an input) name the same prop (patterns overlap)."""
        if self.clean_property != other.clean_property:
            return False
        if not self.is_pattern and not other.is_pattern:
            return self.id_text == other.id_text
        if self.is_pattern and not other.is_pattern:
            return self.matches(other.id)
        if other.is_pattern and not self.is_pattern:
            return other.matches(self.id)
        if set(self.id) != set(other.id):
            return False
        return all(a == b or any(isinstance(v, list) and len(v) == 1 and v[0] in WILDCARDS for v in (a, b))
                   for a, b in ((self.id[k], other.id[k]) for k in self.id))

    def matches(self, id_: Any, id_text: str | None = None) -> bool:
        """Whether a concrete id (`id_text`: its string, if known) is this dependency's id (or
        matches its pattern)."""
        if not self.is_pattern:
            return (stringify_id(id_) if id_text is None else id_text) == self.id_text
        if not isinstance(id_, dict) or set(id_) != set(self.id):
            return False
        return all(
            (isinstance(pv, list) and len(pv) == 1 and pv[0] in WILDCARDS) or pv == id_[k]
            for k, pv in self.id.items())


def split_output(output: str) -> tuple[list[Dependency], bool]:
    """The outputs named in a callback's `output` string, and whether it is multi-output."""
    if output.startswith(".."):
        parts = output[2:-2].split("...")
        multi = True
    else:
        parts, multi = [output], False
    deps = []
    for part in parts:
        id_, prop = part.rsplit(".", 1)
        deps.append(Dependency(parse_id(id_), prop))
    return deps, multi


@dataclass
class Callback:
    output: str  # the callback's key on the server
    outputs: list[Dependency]
    multi: bool
    inputs: list[Dependency]
    state: list[Dependency]
    clientside: bool
    prevent_initial_call: bool
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, d: Mapping) -> "Callback":
        outputs, multi = split_output(d["output"])
        return cls(
            output=d["output"], outputs=outputs, multi=multi,
            inputs=[Dependency.from_json(i) for i in d.get("inputs", [])],
            state=[Dependency.from_json(s) for s in d.get("state", [])],
            clientside=bool(d.get("clientside_function")),
            prevent_initial_call=bool(d.get("prevent_initial_call")),
            raw=dict(d),
        )

    def has_output(self, key: str) -> bool:
        return any(o.key == key for o in self.outputs)

    def waits_for(self, other: "Callback") -> bool:
        """Whether one of this callback's inputs is an output of `other` (the renderer then
        holds this one back while `other` is pending)."""
        return other is not self and any(o.refers_to(i) for o in other.outputs for i in self.inputs)

    def __hash__(self) -> int:
        return hash(self.output)

    def __eq__(self, other) -> bool:
        return isinstance(other, Callback) and other.output == self.output


# ---------------------------------------------------------------------------------------------
# The app: layout components and callback graph (read-only, shared by every simulated student)


@dataclass
class Component:
    id: Any
    type: str
    namespace: str
    props: dict


def _walk_components(node: Any, found: list[Component]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_components(item, found)
    elif isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and "type" in node and "namespace" in node:
            if "id" in props:
                found.append(Component(props["id"], node["type"], node["namespace"], props))
            for value in props.values():  # children, and components inside other props
                _walk_components(value, found)
        else:
            for value in node.values():
                _walk_components(value, found)


class DashApp:
    """A running Dash app as its renderer sees it: components, their initial props, and the
    callback graph."""

    def __init__(self, layout: Any, dependencies: list[dict]):
        self.layout = layout
        comps: list[Component] = []
        _walk_components(layout, comps)
        self.components: dict[str, Component] = {stringify_id(c.id): c for c in comps}
        self.callbacks = [Callback.from_json(d) for d in dependencies]
        self.server_callbacks = [cb for cb in self.callbacks if not cb.clientside]
        self._concrete: dict[str, list] = {}
        self._waits: dict[tuple[str, str], bool] = {}

    @classmethod
    def fetch(cls, http: HttpClient) -> "DashApp":
        layout = http.get("/_dash-layout")
        deps = http.get("/_dash-dependencies")
        if layout.status != 200 or deps.status != 200:
            raise RuntimeError(f"not a Dash app at {http.base_url}: {layout.status}, {deps.status}")
        return cls(layout.json(), deps.json())

    # -- lookup ---------------------------------------------------------------------------------

    def callback_for(self, output_key: str) -> Callback:
        """The server-side callback that has `output_key` (e.g. "race-data.data") as an output."""
        for cb in self.server_callbacks:
            if cb.has_output(output_key):
                return cb
        raise KeyError(f"no server-side callback outputs {output_key!r}")

    def concrete(self, dep: Dependency) -> list[Any]:
        """The concrete ids in the layout that `dep` refers to (several for a pattern)."""
        if not dep.is_pattern:
            return [dep.id]
        key = dep.key
        if key not in self._concrete:
            self._concrete[key] = self._find_concrete(dep)
        return list(self._concrete[key])  # the ids themselves are shared: read them, never change them

    def waits_for(self, cb: Callback, other: Callback) -> bool:
        """Callback.waits_for, remembered (the renderer's graph does not change)."""
        pair = (cb.output, other.output)
        if pair not in self._waits:
            self._waits[pair] = cb.waits_for(other)
        return self._waits[pair]

    def _find_concrete(self, dep: Dependency) -> list[Any]:
        ids = [c.id for c in self.components.values() if dep.matches(c.id)]
        wildcard = {v[0] for v in dep.id.values() if isinstance(v, list) and len(v) == 1}
        if "MATCH" in wildcard and ids:  # one instance: the first id's values for MATCH keys
            first = ids[0]
            match_keys = [k for k, v in dep.id.items() if v == ["MATCH"]]
            ids = [i for i in ids if all(i[k] == first[k] for k in match_keys)]
        return ids

    def initial_values(self) -> dict[str, Any]:
        """Every component prop in the layout, keyed "id.prop" (a fresh, private copy)."""
        values = {}
        for comp in self.components.values():
            for prop, value in comp.props.items():
                if prop != "children" or not isinstance(value, (dict, list)):
                    values[prop_key(comp.id, prop)] = value
            if comp.type == "Location":  # the renderer fills these from window.location
                for prop, value in (("pathname", "/"), ("search", ""), ("hash", ""), ("href", "/")):
                    values.setdefault(prop_key(comp.id, prop), value)
        return copy.deepcopy(values)

    def triggered_by(self, keys: Iterable[str], callbacks: list[Callback] | None = None) -> list[Callback]:
        """Callbacks (default: the server-side ones) with any of the changed props ("id.prop")
        among their inputs."""
        changed = [_key_parts(k) for k in keys]
        return [cb for cb in (self.server_callbacks if callbacks is None else callbacks)
                if any(dep.property == prop and dep.matches(id_, text)
                       for dep in cb.inputs for id_, prop, text in changed)]

    def clientside(self, name: str) -> Callback:
        """The clientside callback of function `name` ("namespace.function")."""
        for cb in self.callbacks:
            fn = cb.raw.get("clientside_function") or {}
            if f"{fn.get('namespace')}.{fn.get('function_name')}" == name:
                return cb
        raise KeyError(f"no clientside callback {name!r}")

    def sliders(self, callback: Callback | None = None) -> list[Component]:
        """Slider components whose value is an input of `callback` (default: of any server-side
        callback), in layout order."""
        cbs = [callback] if callback else self.server_callbacks
        inputs = {(stringify_id(d.id), d.property) for cb in cbs for d in cb.inputs}
        return [c for c in self.components.values()
                if c.type in ("Slider", "RangeSlider") and (stringify_id(c.id), "value") in inputs]

    # -- request bodies -------------------------------------------------------------------------

    def body(self, cb: Callback, values: Mapping[str, Any] | None = None,
             changed: Iterable[str] = (),
             value_for: Callable[[Dependency, Any], Any] | None = None) -> dict:
        """The JSON body the renderer posts for `cb`.

        `values`: "id.prop" -> value (missing props are sent without a value, as the renderer
        does for undefined props). `value_for(dep, concrete_id)`, when given, supplies every
        input and state value instead (hostile tests put anything there). `changed`: the
        "id.prop" keys that triggered the call (changedPropIds); default: the first input."""
        values = values or {}
        missing = object()

        def entry(dep: Dependency, id_: Any) -> dict:
            item: dict[str, Any] = {"id": id_, "property": dep.property}
            value = value_for(dep, id_) if value_for else values.get(prop_key(id_, dep.property), missing)
            if dep.property == "id" and value_for is None:
                value = id_  # a pattern State on "id" carries the ids themselves
            if value is not missing:
                item["value"] = value
            return item

        def group(deps: list[Dependency]) -> list:
            out = []
            for dep in deps:
                if dep.is_pattern:
                    out.append([entry(dep, i) for i in self.concrete(dep)])
                else:
                    out.append(entry(dep, dep.id))
            return out

        outputs = []
        for dep in cb.outputs:
            if dep.is_pattern:
                outputs.append([{"id": i, "property": dep.property} for i in self.concrete(dep)])
            else:
                outputs.append({"id": dep.id, "property": dep.property})
        changed = list(changed)
        if not changed and cb.inputs:
            first = cb.inputs[0]
            ids = self.concrete(first)
            changed = [prop_key(ids[0], first.property)] if ids else []
        return {
            "output": cb.output,
            "outputs": outputs if cb.multi else outputs[0],
            "inputs": group(cb.inputs),
            "state": group(cb.state),
            "changedPropIds": changed,
            "parsedChangedPropsIds": [parse_id(k.rsplit(".", 1)[0]) if k.startswith("{") else k
                                      for k in changed],
        }


# ---------------------------------------------------------------------------------------------
# A browser tab: private prop values, the callback chain, student actions

Send = Callable[[Callback, dict], Response]


@dataclass
class Step:
    callback: Callback
    response: Response
    finished: float = 0.0  # time.perf_counter() when its response had arrived


def _key_parts(key: str) -> tuple[Any, str, str]:
    """"id.prop" → (id, prop, the id's string)."""
    text, prop = key.rsplit(".", 1)
    return parse_id(text), prop, text


class Session:
    """One student's tab. Holds its own prop values (nothing shared between students) and runs
    callback chains the way dash-renderer does: a callback waits while another pending callback
    outputs one of its inputs; the callbacks that are ready together are posted together (in
    parallel when `parallel`, as the browser does over several connections); each response is
    applied before the callbacks it triggers are posted (`send` must then be thread-safe, e.g.
    one connection per request). `only`, when given, restricts the
    server-side callbacks this tab posts (e.g. only the race and the surface)."""

    MAX_CHAIN = 16

    def __init__(self, app: DashApp, rng: random.Random | None = None, parallel: bool = False,
                 only: Callable[[Callback], bool] | None = None,
                 clientside: Mapping[str, Callable[..., Any]] | None = None):
        self.app = app
        self.values = app.initial_values()
        self.rng = rng or random.Random()
        self.parallel = parallel
        self.only = only
        # Clientside callbacks that lead to server requests, played in Python: "namespace.function"
        # -> fn(*input values) returning the output value, or None for no update (single output).
        self.clientside = {app.clientside(name): fn for name, fn in (clientside or {}).items()}

    # -- protocol ---------------------------------------------------------------------------------

    def apply(self, response: Response) -> set[str]:
        """Store a callback response's outputs; return the "id.prop" keys it updated."""
        if response.status != 200 or not response.body:
            return set()
        try:
            data = response.json()
        except ValueError:
            return set()
        updated = set()
        for sid, props in (data.get("response") or {}).items() if isinstance(data, dict) else ():
            if not isinstance(props, dict):
                continue
            for prop, value in props.items():
                key = f"{sid}.{prop}"
                self.values[key] = value
                updated.add(key)
        return updated

    def _wanted(self, cbs: Iterable[Callback]) -> list[Callback]:
        return [cb for cb in cbs if self.only is None or self.only(cb)]

    def _run(self, pending: list[Callback], changed: set[str], send: Send) -> list[Step]:
        steps: list[Step] = []
        while pending and len(steps) < self.MAX_CHAIN:
            ready = [cb for cb in pending if not any(self.app.waits_for(cb, o) for o in pending)] or pending[:1]
            for cb in ready:
                pending.remove(cb)
            bodies = []
            parts = {k: _key_parts(k) for k in changed}
            for cb in ready:
                trigger = sorted(k for k, (id_, prop, text) in parts.items()
                                 if any(d.clean_property == prop and d.matches(id_, text) for d in cb.inputs))
                bodies.append(self.app.body(cb, self.values, changed=trigger))
            finished = [0.0] * len(ready)
            if self.parallel and len(ready) > 1:
                results: list[Response | None] = [None] * len(ready)

                def post(j: int) -> None:
                    results[j] = send(ready[j], bodies[j])
                    finished[j] = time.perf_counter()

                threads = [threading.Thread(target=post, args=(j,), daemon=True) for j in range(len(ready))]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                responses = [r if r is not None else Response(0, {}, b"", 0, 0.0) for r in results]
            else:
                responses = []
                for j, (cb, body) in enumerate(zip(ready, bodies)):
                    responses.append(send(cb, body))
                    finished[j] = time.perf_counter()
            for cb, response, done in zip(ready, responses, finished):
                steps.append(Step(cb, response, done))
                updated = self.apply(response)
                updated |= self._run_clientside(updated)
                changed |= updated
                for nxt in self._wanted(self.app.triggered_by(updated)):
                    if nxt is not cb and nxt not in pending:  # a callback is not re-fired by its own outputs
                        pending.append(nxt)
        return steps

    def _run_clientside(self, keys: set[str]) -> set[str]:
        """Run the played clientside callbacks that `keys` trigger; the keys they updated."""
        updated = set()
        for cb in self.app.triggered_by(keys, list(self.clientside)):
            args = [[self.values.get(prop_key(i, dep.clean_property)) for i in self.app.concrete(dep)]
                    if dep.is_pattern else self.values.get(prop_key(dep.id, dep.clean_property))
                    for dep in cb.inputs]
            value = self.clientside[cb](*args)
            if value is not None:
                key = cb.outputs[0].key
                self.values[key] = value
                updated.add(key)
        return updated

    def change(self, changes: Mapping[str, Any], send: Send) -> list[Step]:
        """Set props ("id.prop" -> value), then fire the server-side callbacks they trigger."""
        self.values.update(changes)
        changed = set(changes)
        changed |= self._run_clientside(changed)
        return self._run(self._wanted(self.app.triggered_by(changed)), changed, send)

    def load(self, send: Send) -> list[Step]:
        """The page's initial callbacks (those without prevent_initial_call), in dependency
        order, as after a page load; the played clientside callbacks run first."""
        initial = self._wanted(cb for cb in self.app.server_callbacks if not cb.prevent_initial_call)
        inputs = {prop_key(i, dep.clean_property) for cb in self.clientside for dep in cb.inputs
                  for i in self.app.concrete(dep)}
        changed = self._run_clientside(inputs)
        initial += [cb for cb in self._wanted(self.app.triggered_by(changed)) if cb not in initial]
        return self._run(initial, changed, send)

    # -- student actions ------------------------------------------------------------------------

    def random_slider_change(self, callback: Callback | None = None) -> dict[str, Any]:
        """"Slider X moves to V": a random slider (an input of `callback`, default any
        server-side callback), a random position on its step grid other than the current one."""
        sliders = self.app.sliders(callback)
        if not sliders:
            raise LookupError("the app has no sliders")
        slider = self.rng.choice(sliders)
        return {prop_key(slider.id, "value"): self.random_slider_value(slider)}

    def random_slider_value(self, slider: Component) -> float | int:
        lo, hi = float(slider.props.get("min", 0)), float(slider.props.get("max", 1))
        step = slider.props.get("step") or (hi - lo) / 100
        n = max(1, int(round((hi - lo) / step)))
        current = self.values.get(prop_key(slider.id, "value"))
        value = current
        for _ in range(5):
            value = round(min(lo + self.rng.randint(0, n) * step, hi), 10)
            value = int(value) if float(value).is_integer() else value
            if value != current:
                break
        return value

    def slider_change(self, slider_id: Any, value: Any) -> dict[str, Any]:
        """"Slider X moves to V" (any V, valid or not)."""
        return {prop_key(slider_id, "value"): value}

    def random_surface_change(self, dropdown_id: str = "surface") -> dict[str, Any]:
        """"The student picks another surface": another option of the dropdown."""
        comp = self.app.components.get(stringify_id(dropdown_id))
        if comp is None:
            raise LookupError(f"no component {dropdown_id!r}")
        options = [o["value"] if isinstance(o, dict) else o for o in comp.props.get("options", [])]
        key = prop_key(dropdown_id, "value")
        others = [o for o in options if o != self.values.get(key)] or options
        return {key: self.rng.choice(others)}

    def random_start_click(self, store_id: str = "start-point",
                           surface_store: str = "surface-data") -> dict[str, Any]:
        """"The student clicks the map": a random point in the current surface's domain."""
        surface = self.values.get(prop_key(surface_store, "data"))
        try:
            (x0, x1), (y0, y1) = surface["domain"]
        except (TypeError, KeyError, ValueError):
            (x0, x1), (y0, y1) = (-2, 2), (-2, 2)
        point = [round(self.rng.uniform(x0, x1), 4), round(self.rng.uniform(y0, y1), 4)]
        return {prop_key(store_id, "data"): point}
