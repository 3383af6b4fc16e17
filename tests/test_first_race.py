"""The page carries its first race (webapp/first_race.py): the same race and map data the
callbacks then send, for the link the page was opened with, and nothing when that race would
cost more than a page should wait for."""

import html
import json
import re
from collections import OrderedDict

import pytest

from webapp import first_race as first_race_module
from webapp import state as link
from webapp.payload import race_payload, surface_payload
from webapp.race import race_result, warm_up
from webapp.scenarios import SCENARIOS, decode_link

ELEMENT = re.compile(r'<script id="first-race" type="application/json">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def client():
    from app import create_app

    warm_up()  # every built-in surface compiled: the page may carry any of their races
    return create_app().server.test_client()


def carried(client, query: str = "") -> dict | None:
    response = client.get("/" + query)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = ELEMENT.findall(page)
    assert len(found) <= 1
    return json.loads(found[0]) if found else None


def callbacks_race(query: str) -> tuple[dict, dict, tuple]:
    """The race and surface payloads the page's callbacks send for this link, and the optimizers
    it hides: the link read into controls (on_apply), the controls read back (on_race_inputs,
    on_surface)."""
    state = decode_link(query.lstrip("?"))
    state = link.parse(state.controls())[0]
    model = state.surface_model
    return race_payload(race_result(state), model), surface_payload(model), state.hidden


@pytest.mark.parametrize("query", [
    "",
    "?view=overlay",
    "?surface=iris",
    "?surface=wine&clock=examples&steps=300",
    "?surface=saddle&lr=0.05&noise=0.3&batch=8&seed=4&hide=adagrad,adadelta",
    "?surface=bowl&extras=adamw,radam&schedule=step:step_size=100,gamma=0.5",
    "?scenario=lr_too_high",
    "?view=3d&surface=iris",
])
def test_the_page_carries_the_race_its_callbacks_send(client, query):
    first = carried(client, query)
    assert first is not None, query
    race, surface, hidden = callbacks_race(query)
    assert first["race"] == json.loads(json.dumps(race))
    assert first["surface"] == json.loads(json.dumps(surface))
    assert first["visible"] == [oid for oid in race["ids"] if oid not in hidden]
    assert first["view"] == next((v for v in ("overlay", "3d") if f"view={v}" in query), "grid")


def test_a_lesson_link_carries_the_lessons_race(client):
    first = carried(client, "?scenario=lr_too_high")
    lesson = SCENARIOS["lr_too_high"].state
    assert first["race"]["surface_id"] == lesson.surface_model.id
    assert first["race"]["steps"] == link.parse(lesson.controls())[0].value("steps")


@pytest.mark.parametrize("query", [
    "?surface=custom&f=x**2%2By**2",  # a typed formula: compiled in a sandbox, not for the page
    "?predict=1",  # students predict the winner before the race plays
    "?surface=upload",
])
def test_the_page_waits_for_its_callbacks_where_a_race_must_not_play_at_once(client, query):
    assert carried(client, query) is None


def test_nothing_is_carried_while_the_surface_compiles(client, monkeypatch):
    monkeypatch.setattr(first_race_module, "_elements", OrderedDict())  # no link opened before
    monkeypatch.setattr(first_race_module, "engine_ready", lambda surface_id: False)
    assert carried(client) is None
    monkeypatch.undo()  # compiled: the next page carries it
    monkeypatch.setattr(first_race_module, "_elements", OrderedDict())
    assert carried(client) is not None


def test_the_last_links_opened_are_kept_and_no_more(client, monkeypatch):
    monkeypatch.setattr(first_race_module, "_elements", OrderedDict())
    made = []
    make = first_race_module._make_element
    monkeypatch.setattr(first_race_module, "_make_element", lambda search: made.append(search) or make(search))
    links = [f"?surface=bowl&seed={k}" for k in range(first_race_module.CACHED_LINKS + 5)]
    pages = [carried(client, q) for q in links]
    assert [carried(client, q) for q in links[-3:]] == pages[-3:]  # kept: not made again
    assert len(made) == len(links) and len(first_race_module._elements) == first_race_module.CACHED_LINKS
    carried(client, links[0])  # the oldest was dropped: made again
    assert made[-1] == links[0].lstrip("?")


@pytest.mark.parametrize("query", [
    "?surface=</script><script>alert(1)</script>",
    "?lr=nan&steps=1e99&start=inf,-inf&seed=-1",
    "?" + "x" * 20000,
    "?surface=%00%ff&view=%3Cb%3E",
    "?hide=" + ",".join(["gd"] * 500),
])
def test_any_link_opens_a_page_and_nothing_in_it_closes_the_element(client, query):
    response = client.get("/" + query)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "alert(1)" not in page
    for text in ELEMENT.findall(page):
        assert "<" not in text and ">" not in text and "&" not in text
        payload = json.loads(text)  # strict JSON: no NaN or Infinity
        assert payload["race"]["steps"] >= 1


def test_text_that_would_close_the_element_is_escaped():
    payload_text = first_race_module.first_race_element("")
    assert payload_text.startswith('<script id="first-race" type="application/json">')
    inner = ELEMENT.findall(payload_text)[0]
    assert "</" not in inner
    # the browser reads the element's text as it is: JSON's \u escapes give back the characters
    assert json.loads(inner) == json.loads(html.unescape(inner))


def test_a_failing_race_leaves_the_page_to_its_callbacks(client, monkeypatch):
    def broken(search):
        raise RuntimeError("boom")

    monkeypatch.setattr(first_race_module, "_elements", OrderedDict())
    monkeypatch.setattr(first_race_module, "first_race", broken)
    assert carried(client) is None
