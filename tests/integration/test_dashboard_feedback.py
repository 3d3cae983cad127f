"""Feedback buttons in the dashboard, driven by Playwright against a real server: on a search
result (the judgement carries the query and re-ranks it) and on a memory's page (kept in its
history; "wrong" flags it)."""

from __future__ import annotations

from typing import Any

from tests.integration.test_dashboard import (
    ALICE_FACTS,
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


def test_feedback_buttons_on_results_and_on_a_memory(world: World, page: Any) -> None:
    expect = sync_api.expect
    login(page, world.server.url, world.key_a)
    page.select_option("#scope-select", "user:alice")
    rows = page.locator("#mem-body tr")
    query = "what coffee does she drink?"
    page.fill("input[name=q]", query)
    page.press("input[name=q]", "Enter")
    expect(page.locator("#fb-head")).to_be_visible()
    top = rows.first
    expect(top).to_contain_text("coffee")
    top_id = top.get_attribute("data-id")
    # One judgement scales its score by e^-1: enough to sink it among close results, not
    # below results that barely match. Three (the cap) sink it below any other candidate.
    clicks = 0
    while clicks < 3:
        clicks += 1
        page.locator(f"#mem-body tr[data-id='{top_id}'] button[data-signal=not_useful]").click()
        expect(page.locator("#toast")).to_contain_text("Marked not useful")
        # Still on the results: the click did not open the memory.
        expect(page.locator("#page-memories")).to_be_visible()
        expect(page.locator("#mem-info")).to_contain_text("result(s) for")
        if rows.first.get_attribute("data-id") != top_id:
            break
    expect(rows.first).not_to_have_attribute("data-id", top_id or "")
    print(f"not_useful clicks to move the top result down: {clicks}")
    shot(page, "feedback-01-results")
    history = world.http.get(f"/v1/memories/{top_id}/history", headers=bearer(world.key_a))
    events = history.json()
    assert [e["event"] for e in events[-clicks:]] == ["FEEDBACK"] * clicks
    assert events[-1]["reason"] == f"not_useful (query: {query})"

    # On a memory's page: useful is kept in the timeline; wrong flags it after a confirm.
    page.click("#clear-search")
    rows.filter(has_text="hiking").click()
    expect(page.locator("#md-text")).to_have_text(ALICE_FACTS[1])
    page.click("#md-feedback button[data-signal=useful]")
    expect(page.locator("#md-history li")).to_have_count(2)
    expect(page.locator("#md-history")).to_contain_text("FEEDBACK")
    page.once("dialog", lambda d: d.accept())
    page.click("#md-feedback button[data-signal=wrong]")
    expect(page.locator("#md-status")).to_have_text("flagged")
    expect(page.locator("#md-feedback button[data-signal=useful]")).to_be_disabled()
    shot(page, "feedback-02-memory")
    listed = world.http.get(
        "/v1/memories", params={"user_id": "alice"}, headers=bearer(world.key_a)
    ).json()["results"]
    assert all("hiking" not in r["memory"] for r in listed)
