"""The dashboard's Graph page, a memory's entities, and archive/restore, driven by Playwright
against a real server (fixtures shared with ``test_dashboard``).

Memories are added through the JSON API; the graph comes from the offline extractor's entity
linking (no LLM), so the nodes and edges below are exactly what the store links.
"""

from __future__ import annotations

from typing import Any

from tests.integration.test_dashboard import (
    World,
    bearer,
    browser,
    login,
    page,
    shot,
    sync_api,
    world,
)

__all__ = ["browser", "page", "world"]  # fixtures shared with test_dashboard

CAROLINE = "Caroline: I moved from my home country, Sweden."
MELANIE = "Melanie: My sister Anna lives in New York City."
ENTITIES = {
    "Caroline": "person",
    "Sweden": "place",
    "Melanie": "person",
    "Anna": "person",
    "New York City": "place",
}


def open_graph(page: Any, scope: str) -> None:
    page.click("#nav a[data-page=graph]")
    sync_api.expect(page.locator("#page-graph")).to_be_visible()
    page.select_option("#graph-scope", scope)


def test_graph_page_draws_entities_relations_and_a_memory_neighbourhood(
    world: World, page: Any
) -> None:
    expect = sync_api.expect
    added = [
        world.add(world.key_a, messages=t, user_id="grace", infer=False)
        for t in (CAROLINE, MELANIE)
    ]
    caroline_id = added[0]["results"][0]["id"]
    # Superseded facts for another user: their relation ends (drawn only when asked).
    world.add(world.key_a, messages="I live in Porto.", user_id="gus")
    world.add(world.key_a, messages="I live in Berlin now.", user_id="gus")

    login(page, world.server.url, world.key_a)
    open_graph(page, "user:grace")
    nodes = page.locator("#graph-draw svg .node")
    edges = page.locator("#graph-draw svg .edge")
    expect(nodes).to_have_count(len(ENTITIES))
    expect(edges).to_have_count(3)
    for name, kind in ENTITIES.items():
        node = page.locator(f"#graph-draw .node[data-name='{name}']")
        expect(node).to_have_class(f"node kind-{kind}")
        expect(node.locator("text")).to_have_text(name)
    expect(page.locator("#graph-legend .legend-item")).to_have_count(5)
    # Two relations of one memory share a time, so their order is the store's: compare sets.
    labels = edges.locator("text").all_text_contents()
    assert sorted(labels) == ["from", "lives in", "sibling"], labels
    expect(page.locator("#graph-info")).to_contain_text("5 entities and 3 relations of user grace")
    relations = page.locator("#graph-relations li")
    expect(relations).to_have_count(3)
    expect(relations.filter(has_text="Caroline — from → Sweden")).to_have_count(1)
    expect(relations.filter(has_text="Anna — lives in → New York City")).to_contain_text(
        "still valid"
    )
    # Every circle sits inside the drawing and no two share a spot (the layout ran).
    spots = page.eval_on_selector_all(
        "#graph-draw .node", "gs => gs.map(g => g.getAttribute('transform'))"
    )
    assert len(set(spots)) == len(ENTITIES), spots
    for spot in spots:
        x, y = (float(v) for v in spot.removeprefix("translate(").removesuffix(")").split(","))
        assert 0 < x < 1000 and 0 < y < 560, spot
    shot(page, "graph-01-scope")

    # Clicking Sweden lists its relation and the memory stating it.
    page.click("#graph-draw .node[data-name='Sweden']")
    expect(page.locator("#graph-sel-title")).to_have_text("Sweden · place")
    expect(page.locator("#graph-node-relations li")).to_have_count(1)
    expect(page.locator("#graph-node-relations")).to_contain_text("Caroline — from → Sweden")
    expect(page.locator("#graph-node-memories a")).to_have_text([CAROLINE])
    expect(page.locator("#graph-draw .node.selected")).to_have_attribute("data-name", "Sweden")
    expect(page.locator("#graph-draw .edge.selected")).to_have_count(1)
    shot(page, "graph-02-node-selected")

    # The memory's page shows its entities and relation, and opens the graph around it.
    page.click("#graph-node-memories a")
    expect(page.locator("#md-text")).to_have_text(CAROLINE)
    expect(page.locator("#md-entities .chip")).to_have_text(["Caroline", "Sweden"])
    expect(page.locator("#md-relations li")).to_contain_text(["Caroline — from → Sweden"])
    shot(page, "graph-03-memory-entities")
    page.click("#md-graph-link")
    expect(page.locator("#graph-info")).to_contain_text("highlighted")
    assert page.evaluate("location.hash") == f"#/graph/{caroline_id}"
    focused = page.locator("#graph-draw .node.focus")
    expect(focused).to_have_count(2)
    assert sorted(focused.evaluate_all("gs => gs.map(g => g.dataset.name)")) == [
        "Caroline",
        "Sweden",
    ]
    expect(page.locator("#graph-draw .edge.focus")).to_have_count(1)
    shot(page, "graph-04-memory-in-graph")

    # Ended relations appear, dashed, only with the checkbox.
    page.select_option("#graph-scope", "user:gus")
    expect(page.locator("#graph-draw .node[data-name='Porto']")).to_have_count(1)
    expect(page.locator("#graph-draw .edge")).to_have_count(1)
    expect(page.locator("#graph-draw .edge.ended")).to_have_count(0)
    page.check("#graph-invalid")
    expect(page.locator("#graph-draw .edge.ended")).to_have_count(1)
    expect(page.locator("#graph-draw .edge")).to_have_count(2)
    expect(page.locator("#graph-relations li.ended")).to_contain_text(["lives in → Porto"])
    expect(page.locator("#graph-relations li.ended")).to_contain_text(["until"])
    shot(page, "graph-05-ended-relations")

    # Another tenant's key sees an empty graph: none of A's scopes or entities, not even by id,
    # and nothing A's session drew stays in the page (same tab, a hash change, no reload).
    page.click("#nav a[data-page=memories]")
    expect(page.locator("#page-memories")).to_be_visible()
    page.click("#logout")
    page.fill("input[name=api_key]", world.key_b)
    page.press("input[name=api_key]", "Enter")
    expect(page.locator("#page-memories")).to_be_visible()
    page.evaluate(f"location.hash = '#/graph/{caroline_id}'")
    expect(page.locator("#graph-info")).to_contain_text(f"No memory with id {caroline_id}")
    expect(page.locator("#graph-info")).to_contain_text("of user carol")
    text = page.inner_text("#page-graph")
    for name in [*ENTITIES, "Porto", "gus"]:
        assert name not in text, name
    shot(page, "graph-06-tenant-b-foreign-memory")
    page.click("#nav a[data-page=graph]")
    expect(page.locator("#graph-info")).to_contain_text("of user carol")
    options = page.locator("#graph-scope option").all_inner_texts()
    assert not [o for o in options if "grace" in o or "gus" in o], options
    text = page.inner_text("#page-graph")
    for name in [*ENTITIES, "Porto", "gus"]:
        assert name not in text, name
    shot(page, "graph-07-tenant-b")
    r = world.http.get("/v1/graph", params={"user_id": "grace"}, headers=bearer(world.key_b))
    assert r.status_code == 200 and r.json() == {"nodes": [], "edges": []}


def test_archive_then_restore_from_the_memory_page(world: World, page: Any) -> None:
    expect = sync_api.expect
    for text, importance in (("Hana likes green tea", 0.9), ("hana likes green tea.", 0.5)):
        world.add(world.key_a, messages=text, user_id="hana", infer=False, importance=importance)
    r = world.http.post("/v1/consolidate", json={"user_id": "hana"}, headers=bearer(world.key_a))
    assert r.status_code == 200 and r.json()["archived"] == 1, r.text
    (archived_id,) = r.json()["merged"][0]["archived"]

    login(page, world.server.url, world.key_a)
    page.select_option("#scope-select", "user:hana")
    rows = page.locator("#mem-body tr")
    expect(rows).to_have_count(1)
    page.select_option("#filter-form select[name=status]", "archived")
    page.click("#filter-form button[type=submit]")
    expect(page.locator("#mem-info")).to_contain_text("Archived memories of user hana")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", archived_id)
    expect(rows.first.locator(".badge")).to_have_text("archived")
    shot(page, "archive-01-filter")

    rows.first.click()
    expect(page.locator("#md-status")).to_have_text("archived")
    expect(page.locator("#md-history")).to_contain_text("ARCHIVE")
    expect(page.locator("#restore")).to_be_visible()
    shot(page, "archive-02-archived-memory")
    page.click("#restore")
    expect(page.locator("#md-status")).to_have_text("active")
    expect(page.locator("#restore")).to_be_hidden()
    timeline = page.locator("#md-history li")
    expect(timeline.last).to_contain_text("RESTORE")
    shot(page, "archive-03-restored")
    got = world.http.get(f"/v1/memories/{archived_id}", headers=bearer(world.key_a)).json()
    assert got["status"] == "active"

    # Active again: listed as valid, no longer under archived.
    page.goto(world.server.url + "/ui#/memories")
    page.select_option("#filter-form select[name=status]", "valid")
    page.click("#filter-form button[type=submit]")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#mem-body tr[data-id='{archived_id}']")).to_have_count(1)
    page.select_option("#filter-form select[name=status]", "archived")
    page.click("#filter-form button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Nothing found")
