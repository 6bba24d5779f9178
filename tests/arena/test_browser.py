"""Browser app: intranet pages as text, links, search, history; every non-intranet URL refused."""
from __future__ import annotations

import re

import pytest

from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import app_calls

ok, _ = app_calls("browser")


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["browser", "frappe"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as e:
        yield e


def test_browse_follow_links_and_go_back(ep):
    home = ok(ep, "browse", {"url": "http://intranet/"})
    assert home["title"] == "Acme Corp Intranet"
    policies = next(ln for ln in home["links"] if ln["text"] == "Company policies")
    assert f"Company policies [{policies['n']}]" in home["text"]
    page = ok(ep, "browse", {"url": policies["url"]})
    leave = next(ln["url"] for ln in page["links"] if ln["text"] == "Leave Policy")
    text = ok(ep, "browse", {"url": "policies/leave-policy"})  # relative to the current page's folder
    assert text["url"] == leave == "http://intranet/policies/leave-policy"
    assert "<" not in text["text"] and "Casual Leave | 12" in text["text"]
    assert ok(ep, "browse", {"url": "../onboarding/guide"})["title"] == "Onboarding Guide"
    assert ok(ep, "go_back")["url"] == leave
    assert ok(ep, "go_back")["url"] == "http://intranet/policies"
    links = ok(ep, "get_links", {"url": "/policies/security-policy"})
    assert {"text": "Report a phishing e-mail", "url": "http://intranet/kb/report-a-phishing-e-mail"} in links["links"]
    assert "http://intranet/onboarding/guide" in [p["url"] for p in links["linked_from"]]
    assert ep.diff() == {}  # browsing reads only


def test_every_link_resolves_to_a_page(ep):
    assert ep.query("SELECT DISTINCT href FROM web_links WHERE href NOT IN (SELECT url FROM web_pages)") == []


def test_search_intranet(ep):
    res = ok(ep, "search_intranet", {"query": "expense policy"})["results"]
    assert res[0]["url"] == "http://intranet/policies/expense-policy"
    person = ep.query("SELECT full_name, username FROM users WHERE id = 5")[0]
    found = ok(ep, "search_intranet", {"query": person["full_name"], "section": "people"})["results"]
    assert f"http://intranet/people/{person['username']}" in [r["url"] for r in found]
    assert ok(ep, "search_intranet", {"query": "zzzz-not-there"})["results"] == []


@pytest.mark.parametrize("url", [
    "https://www.google.com/", "http://example.com/intranet", "file:///etc/passwd", "javascript:alert(1)",
    "http://10.0.0.1/", "http://127.0.0.1:8080/", "http://[::1]/", "http://intranet.evil.com/",
    "http://intranet@evil.com/", "http://intranet:8080/", "ftp://intranet/", "data:text/html,hi",
    "//evil.com/x", "google.com", "169.254.169.254/latest/meta-data"])
def test_external_urls_are_refused(ep, url):
    before = ep.state_hash()
    obs = ep.call("browser.browse", {"url": url})
    assert obs.error["code"] == "permission_denied", obs.to_dict()
    assert "only reaches the company intranet" in obs.error["message"]
    assert ep.state_hash() == before


def test_missing_page_and_empty_history(ep):
    assert ep.call("browser.browse", {"url": "/no/such/page"}).error["code"] == "not_found"
    back = ok(ep, "go_back")  # nothing to go back to: the browser stays on (or opens) the home page
    assert back["url"] == "http://intranet/" and "no previous page" in back["note"]
    ok(ep, "browse", {"url": "/kb"})
    assert ok(ep, "go_back")["url"] == "http://intranet/"


def test_leave_policy_agrees_with_hr_allocations(ep):
    """The wiki's numbers are the HR app's leave types (cross-app consistency an agent relies on)."""
    text = ok(ep, "browse", {"url": "/policies/leave-policy"})["text"]
    on_wiki = {m[0]: int(m[1]) for m in re.findall(r"^(\w+ Leave) \| (\d+)$", text, re.M)}
    in_hr = {r["name"]: r["max_leaves_allowed"] for r in ep.query(
        "SELECT name, max_leaves_allowed FROM hr_leave_types WHERE is_lwp = 0")}
    assert on_wiki == in_hr == {"Casual Leave": 12, "Sick Leave": 10, "Privilege Leave": 18}
