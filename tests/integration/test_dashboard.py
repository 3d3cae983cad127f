"""The dashboard at ``/ui`` end to end: Playwright driving Debian's Chromium against a real server.

The server runs on 127.0.0.1 in a thread over a real SQLite store. Memories are added through
the JSON API; everything else (login, search, edit, delete, tenant isolation) goes through the
browser. A screenshot of each page lands in ``tests/artifacts/dashboard/`` (gitignored).

Chromium comes from ``scripts/install-browser.sh`` (``make test`` runs it); without it, or
without the ``playwright`` package, these tests are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, ServerThread, create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
ADMIN = "admin-dashboard-key-0123456789"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed")

ALICE_FACTS = [
    "Alice's favourite coffee is a flat white",
    "Alice goes hiking in the Alps every summer",
    "Alice works as a marine biologist in Lisbon",
    "Alice is allergic to peanuts",
]


class World:
    """A running server, an admin HTTP client and keys for tenants ``acme`` and ``globex``."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.key_a = self.make_key("acme")
        self.key_b = self.make_key("globex")

    def make_key(self, tenant: str) -> str:
        r = self.http.post("/v1/keys", json={"tenant": tenant}, headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        return str(r.json()["key"])

    def add(self, key: str, **body: Any) -> dict[str, Any]:
        r = self.http.post("/v1/memories", json=body, headers=bearer(key))
        assert r.status_code == 200, r.text
        return dict(r.json())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[World]:
    memory = Memory(path=tmp_path_factory.mktemp("dashboard"), embedder=embedder)
    settings = ServerSettings(admin_key=ADMIN, rate_limit=0)
    server = ServerThread(create_app(memory, settings)).start()
    w = World(server)
    # Tenant acme: verbatim facts for alice (one with metadata), one extracted add, one for bob.
    w.add(w.key_a, messages=ALICE_FACTS, user_id="alice", infer=False)
    w.add(
        w.key_a,
        messages="Alice prefers window seats on long flights",
        user_id="alice",
        infer=False,
        metadata={"topic": "travel"},
        memory_type="preference",
    )
    w.add(w.key_a, messages=[{"role": "user", "content": "I'm vegetarian."}], user_id="alice")
    # Extracted (offline rules): the second add supersedes the first.
    w.add(w.key_a, messages="I live in Porto.", user_id="alice")
    moved = w.add(w.key_a, messages="I live in Berlin now.", user_id="alice")
    assert [r["event"] for r in moved["results"]] == ["SUPERSEDE"], moved
    w.add(w.key_a, messages="Bob plays the cello", user_id="bob", infer=False)
    # Tenant globex: its own user, whose memories acme must never see (and vice versa).
    w.add(w.key_b, messages="Carol manages the Berlin office", user_id="carol", infer=False)
    yield w
    w.http.close()
    server.stop()
    memory.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def login(page: Any, url: str, key: str) -> None:
    page.goto(url + "/ui")
    page.fill("input[name=api_key]", key)
    page.press("input[name=api_key]", "Enter")
    sync_api.expect(page.locator("#page-memories")).to_be_visible()


def test_ui_page_and_static_files_are_served(world: World) -> None:
    r = world.http.get("/ui")
    assert r.status_code == 200 and 'name="api_key"' in r.text and 'name="q"' in r.text
    for name, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        r = world.http.get(f"/ui/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"], name
    # The data behind the page needs a key, like every /v1 route.
    assert world.http.get("/v1/scopes").status_code == 401
    assert world.http.get("/v1/stats").status_code == 401


def test_scopes_and_stats_routes_are_per_tenant(world: World) -> None:
    a = world.http.get("/v1/scopes", headers=bearer(world.key_a)).json()["results"]
    assert {(s["kind"], s["id"]) for s in a} == {("user", "alice"), ("user", "bob")}
    alice = next(s for s in a if s["id"] == "alice")
    assert alice["memories"] >= len(ALICE_FACTS) + 1 and alice["last_activity"]
    b = world.http.get("/v1/scopes", headers=bearer(world.key_b)).json()["results"]
    assert [(s["kind"], s["id"], s["memories"]) for s in b] == [("user", "carol", 1)]
    stats = world.http.get("/v1/stats", headers=bearer(world.key_b)).json()
    assert stats["memories"] == 1 and stats["users"] == 1 and "path" not in stats
    assert set(stats["usage"]) == {"llm_calls", "prompt_tokens", "completion_tokens"}


def test_login_search_edit_delete_and_isolation(world: World, page: Any) -> None:
    expect = sync_api.expect
    page.goto(world.server.url + "/ui")
    expect(page.locator("input[name=api_key]")).to_be_visible()
    shot(page, "01-login")

    # A wrong key is refused on the form and nothing is kept.
    page.fill("input[name=api_key]", "not-a-key")
    page.press("input[name=api_key]", "Enter")
    expect(page.locator("#login-error")).to_contain_text("invalid API key")
    assert page.evaluate("sessionStorage.getItem('engramdb.api_key')") is None

    login(page, world.server.url, world.key_a)
    assert page.evaluate("sessionStorage.getItem('engramdb.api_key')") == world.key_a
    rows = page.locator("#mem-body tr")
    # The most recently active user (bob) is shown first; switch to alice.
    expect(rows.filter(has_text="cello")).to_have_count(1)
    page.select_option("#scope-select", "user:alice")
    expect(rows.filter(has_text="flat white")).to_have_count(1)
    expect(rows.filter(has_text="window seats")).to_have_count(1)
    shot(page, "02-memories")

    # Real hybrid search through the UI (name=q, Enter).
    page.fill("input[name=q]", "what coffee does she drink?")
    page.press("input[name=q]", "Enter")
    expect(page.locator("#mem-info")).to_contain_text("result(s) for")
    expect(rows.first).to_contain_text("flat white")
    shot(page, "03-search")

    # Filters: metadata key=value narrows the list to the one tagged memory.
    page.click("#clear-search")
    page.fill("#filter-form input[name=meta]", "topic=travel")
    page.click("#filter-form button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("window seats")
    page.fill("#filter-form input[name=meta]", "")
    page.click("#filter-form button[type=submit]")
    expect(rows.filter(has_text="flat white")).to_have_count(1)
    # Category filter: the offline extractor set no categories, so none match.
    page.fill("#filter-form input[name=category]", "travel")
    page.click("#filter-form button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Nothing found.")
    page.fill("#filter-form input[name=category]", "")
    page.click("#filter-form button[type=submit]")
    expect(rows.filter(has_text="flat white")).to_have_count(1)

    # Status filter: the superseded memory is listed, and its detail shows why and until when.
    page.select_option("#filter-form select[name=status]", "superseded")
    page.click("#filter-form button[type=submit]")
    expect(page.locator("#mem-info")).to_contain_text("1 superseded memory")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Porto")
    expect(page.locator(".pager")).to_be_hidden()
    shot(page, "03b-superseded")
    rows.first.click()
    expect(page.locator("#md-status")).to_have_text("superseded")
    expect(page.locator("#md-fields")).not_to_contain_text("still valid")
    expect(page.locator("#md-history")).to_contain_text("SUPERSEDE")
    expect(page.locator("#md-episodes .episode")).to_contain_text("I live in Porto.")
    shot(page, "03c-superseded-detail")
    page.goto(world.server.url + "/ui#/memories")
    page.select_option("#filter-form select[name=status]", "valid")
    page.click("#filter-form button[type=submit]")
    expect(rows.filter(has_text="Berlin")).to_have_count(1)
    expect(rows.filter(has_text="Porto")).to_have_count(0)

    # Open a memory, edit its text, see the UPDATE (old → new) in the history timeline.
    rows.filter(has_text="flat white").click()
    expect(page.locator("#page-memory")).to_be_visible()
    expect(page.locator("#md-text")).to_have_text(ALICE_FACTS[0])
    expect(page.locator("#md-history li")).to_have_count(1)
    memory_id = page.evaluate("location.hash").split("/")[-1]
    page.click("#edit")
    page.fill("#edit-text", "Alice's favourite coffee is now an oat cortado")
    page.click("#edit-form button[type=submit]")
    expect(page.locator("#md-text")).to_have_text("Alice's favourite coffee is now an oat cortado")
    timeline = page.locator("#md-history li")
    expect(timeline).to_have_count(2)
    expect(timeline.nth(0)).to_contain_text("ADD")
    expect(timeline.nth(1)).to_contain_text("UPDATE")
    expect(timeline.nth(1).locator("del")).to_have_text(ALICE_FACTS[0])
    expect(timeline.nth(1).locator("ins")).to_have_text(
        "Alice's favourite coffee is now an oat cortado"
    )
    shot(page, "04-memory-edited")
    stored = world.http.get(f"/v1/memories/{memory_id}", headers=bearer(world.key_a)).json()
    assert stored["memory"] == "Alice's favourite coffee is now an oat cortado"

    # The extracted memory shows the episode it came from.
    page.goto(world.server.url + "/ui#/memories")
    rows.filter(has_text=re.compile("vegetarian", re.I)).first.click()
    expect(page.locator("#md-episodes .episode")).to_contain_text("I'm vegetarian.")
    shot(page, "05-memory-with-episode")

    # Delete one memory (confirm dialog accepted): it leaves the list and the API.
    page.goto(world.server.url + "/ui#/memories")
    rows.filter(has_text="peanuts").click()
    expect(page.locator("#md-text")).to_have_text(ALICE_FACTS[3])
    peanut_id = page.evaluate("location.hash").split("/")[-1]
    page.once("dialog", lambda d: d.accept())
    page.click("#delete")
    expect(page.locator("#page-memories")).to_be_visible()
    expect(rows.filter(has_text="flat white")).to_have_count(0)
    expect(rows.filter(has_text="cortado")).to_have_count(1)
    expect(rows.filter(has_text="peanuts")).to_have_count(0)
    listed = world.http.get(
        "/v1/memories", params={"user_id": "alice"}, headers=bearer(world.key_a)
    )
    assert peanut_id not in {r["id"] for r in listed.json()["results"]}

    # The other pages render.
    page.click("#nav a[data-page=scopes]")
    expect(page.locator("#scopes-body tr")).to_have_count(2)
    shot(page, "06-scopes")
    page.click("#nav a[data-page=observability]")
    expect(page.locator("#chart svg rect.bar")).to_have_count(1)
    expect(page.locator("#stat-cards")).to_contain_text("LLM calls")
    # Traffic plots come from the server's per-tenant metrics: this test made searches.
    expect(page.locator("#traffic .plot[data-metric=search] rect.bar")).not_to_have_count(0)
    expect(page.locator("#traffic .plot[data-metric=search_ms] rect.bar")).not_to_have_count(0)
    shot(page, "07-observability")
    page.click("#nav a[data-page=graph]")
    # Alice's extracted memories link her and Berlin (test_dashboard_graph.py tests the page).
    expect(page.locator("#graph-info")).to_contain_text("of user alice")
    expect(page.locator("#graph-draw .node[data-name=Berlin]")).to_have_count(1)
    shot(page, "08-graph")

    # Export the scope as a JSONL download, then forget bob (confirm dialog accepted).
    page.click("#nav a[data-page=memories]")
    expect(page.locator("#scope-select")).to_have_value("user:alice")
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename == "engramdb-user-alice.jsonl"
    lines = [json.loads(x) for x in Path(download.path()).read_text().splitlines()]
    texts = {x.get("memory") for x in lines if x.get("type") == "memory"}
    assert (
        "Alice's favourite coffee is now an oat cortado" in texts
        and "Bob plays the cello" not in texts
    )
    page.select_option("#scope-select", "user:bob")
    expect(rows.filter(has_text="cello")).to_have_count(1)
    messages: list[str] = []
    page.once("dialog", lambda d: (messages.append(d.message), d.accept()))
    page.click("#forget")
    expect(page.locator("#toast")).to_contain_text("1 memory deleted")
    assert messages and 'user "bob"' in messages[0]
    expect(page.locator("#scope-select")).to_have_value("user:alice")
    r = world.http.get("/v1/memories", params={"user_id": "bob"}, headers=bearer(world.key_a))
    assert r.json()["results"] == []

    # Tenant B's key sees none of tenant A's memories: not in the list, search or scopes.
    page.click("#logout")
    expect(page.locator("input[name=api_key]")).to_be_visible()
    login(page, world.server.url, world.key_b)
    expect(rows.filter(has_text="Berlin office")).to_have_count(1)
    page.fill("input[name=q]", "coffee Alice hiking cortado")
    page.press("input[name=q]", "Enter")
    expect(page.locator("#mem-info")).to_contain_text("result(s) for")
    shot(page, "09-tenant-b-search")
    body = page.inner_text("#mem-body")
    for text in [*ALICE_FACTS[1:3], "cortado", "window seats", "cello"]:
        assert text not in body, text
    page.click("#nav a[data-page=scopes]")
    expect(page.locator("#scopes-body tr")).to_have_count(1)
    expect(page.locator("#scopes-body")).to_contain_text("carol")
    assert "alice" not in page.inner_text("#scopes-body")
    # And A's memory id, opened directly, is not found for B.
    page.goto(f"{world.server.url}/ui#/memory/{memory_id}")
    expect(page.locator("#md-title")).to_have_text("Memory not found")
    expect(page.locator("#delete")).to_be_disabled()
    assert "cortado" not in page.inner_text("main")
    shot(page, "10-tenant-b-foreign-id")
