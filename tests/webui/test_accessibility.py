"""Accessibility and phones in real Chromium, on the demo data: for each role, every page it can reach has
no serious or critical axe-core finding, and none scrolls sideways at 390 px (a phone held upright).

axe-core comes from the `axe-playwright-python` package (the test extra): its bundled axe.min.js is
injected into each page, so nothing is fetched at test time. The app's Content-Security-Policy forbids
injected scripts, so the audit's browser context bypasses it (the CSP itself is tested elsewhere).

Speed: the demo is built once for the module, one Chromium serves every role, one context per role, and
each page is loaded once: audited at desktop width, then resized to 390 px and measured.

Arabic (right to left): a user whose language is Arabic gets every page with dir="rtl", no sideways
scrolling at 390 px and no serious or critical axe finding. To keep it quick, the admin (who reaches every
page) opens each page once, at 390 px, with axe's full rule set there; a researcher adds the error pages
(a 403 needs someone who is refused) and a signed-out browser asking for Arabic the public pages.

PAGES lists every GET route that answers a page; NOT_PAGES the ones that answer data. A new GET route
that is in neither fails `test_every_get_route_is_audited_or_declared_not_a_page`, which names it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.demo import DEMO_PASSWORD, DEMO_USERS, build_demo, serve_sample
from cli.web import web_app
from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import curation, systems
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.digest import recipients as recipients_store
from kb.digest.deliveries import send_digest
from kb.digest.draft import last_completed_week, week_of
from kb.knowledge import open_kb
from kb.learning import taxonomies
from kb.settings import load_settings
from kb.storage import previews
from kb.storage.db import transaction
from tests.smtpserver import LocalSMTPServer
from tests.webui.conftest import CHROMIUM, CHROMIUM_ARGS, browser_sign_in
from webui.server import start_in_background

pytestmark = pytest.mark.browser

RANK = {"visitor": 0, "researcher": 1, "coordinator": 2, "admin": 3}
# Users of the demo whose interface language is Arabic, by role.
DEMO_EMAILS = {role: email for email, role in DEMO_USERS}
ARABIC_USERS = {"admin": "ar-admin@demo.example", "researcher": "ar-researcher@demo.example"}
SERIOUS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# axe's defaults (WCAG 2.0-2.2 A and AA, best practices) and target sizes (WCAG 2.2's 2.5.8, off by default).
DESKTOP_RULES = {"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
PHONE_RULES = {"resultTypes": ["violations"], "runOnly": {"type": "rule", "values": [
    "scrollable-region-focusable", "target-size", "color-contrast", "meta-viewport"]}}


@dataclass(frozen=True)
class Page:
    """A page to audit: its route (as in app.url_map), the address to visit ({names} filled from the
    demo's ids), and the least role that reaches it ("visitor": signed out only)."""

    rule: str
    url: str
    role: str
    status: int = 200


PAGES = [
    Page("/login", "/login", "visitor"),
    Page("/digest/unsubscribe/<token>", "/digest/unsubscribe/{unsubscribe}", "visitor"),
    Page("/", "/", "researcher"),
    Page("/", "/?q=algorithm", "researcher"),
    Page("/items/<int:item_id>", "/items/{item}", "researcher"),
    Page("/profile", "/profile", "researcher"),
    Page("/cases", "/cases", "researcher"),
    Page("/cases/<int:case_id>", "/cases/{case}", "researcher"),
    Page("/cases/<int:case_id>/search", "/cases/{case}/search", "researcher"),
    Page("/cases/<int:case_id>/edit", "/cases/{case}/edit", "coordinator"),
    Page("/cases/new", "/cases/new", "coordinator"),
    Page("/contacts", "/contacts", "researcher"),
    Page("/contacts/<int:contact_id>", "/contacts/{contact}", "researcher"),
    Page("/contacts/<int:contact_id>/edit", "/contacts/{contact}/edit", "coordinator"),
    Page("/contacts/<int:contact_id>/delete", "/contacts/{contact}/delete", "coordinator"),
    Page("/contacts/new", "/contacts/new", "coordinator"),
    Page("/contacts/import", "/contacts/import", "coordinator"),
    Page("/digest/subscription", "/digest/subscription", "researcher"),
    Page("/curation", "/curation", "coordinator"),
    Page("/dashboard", "/dashboard", "coordinator"),
    Page("/digest", "/digest", "coordinator"),
    Page("/digest/archive", "/digest/archive", "coordinator"),
    Page("/digest/archive/<week>", "/digest/archive/{week}", "coordinator"),
    Page("/digest/recipients", "/digest/recipients", "coordinator"),
    Page("/sources", "/sources", "coordinator"),
    Page("/sources/<int:source_id>/edit", "/sources/{source}/edit", "coordinator"),
    Page("/sources/<int:source_id>/remove", "/sources/{source}/remove", "coordinator"),
    Page("/admin/users", "/admin/users", "admin"),
    Page("/admin/tokens", "/admin/tokens", "admin"),
    Page("/admin/tokens/<int:token_id>/revoke", "/admin/tokens/{token}/revoke", "admin"),
    Page("/admin/audit", "/admin/audit", "admin"),
    Page("/systems", "/systems", "researcher"),
    Page("/systems/<int:system_id>", "/systems/{system}", "researcher"),
    Page("/countries", "/countries", "researcher"),
    Page("/countries/<code>", "/countries/{country}", "researcher"),
    Page("/systems/new", "/systems/new", "coordinator"),
    Page("/systems/<int:system_id>/edit", "/systems/{system}/edit", "coordinator"),
    Page("/systems/candidates", "/systems/candidates", "researcher"),
    Page("/taxonomy", "/taxonomy", "researcher"),
    Page("/taxonomy/preview/<int:job_id>", "/taxonomy/preview/{preview}", "coordinator"),
]
# Error pages are pages too (the product's layout): one not found, one refused.
ERROR_PAGES = [Page("", "/items/999999999", "researcher", 404), Page("", "/admin/users", "researcher", 403)]

# GET routes that answer data, not a page a person reads.
NOT_PAGES = {
    "/static/<path:filename>", "/digest/style.css", "/admin/audit.csv", "/search/export.<fmt>",
    "/cases/<int:case_id>/sources.csv", "/cases/<int:case_id>/sources.ris", "/sources/opml",
    "/api/v1/search", "/api/v1/items/<int:item_id>", "/api/v1/systems", "/api/v1/systems/<int:system_id>",
    "/taxonomy/export",
}


def _get_rules(app: Any) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}


def test_every_get_route_is_audited_or_declared_not_a_page(tmp_path: Path):
    kb = open_kb(load_settings(tmp_path / "data", environ={}))
    try:
        rules = _get_rules(web_app(kb, TESTING=True))
    finally:
        kb.close()
    listed = {page.rule for page in PAGES}
    missing = sorted(rules - listed - NOT_PAGES)
    assert not missing, (
        "GET routes not audited by tests/webui/test_accessibility.py: " + ", ".join(missing)
        + ". Add each to PAGES (its address with {ids} and the least role that reaches it), or to "
        "NOT_PAGES if it answers data rather than a page.")
    gone = sorted((listed | NOT_PAGES) - rules)
    assert not gone, f"listed in test_accessibility.py but no longer GET routes of the app: {gone}"


# --- the demo, served --------------------------------------------------------------------------------


@dataclass
class Demo:
    base: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`kb demo`'s data (the sample corpus through the real ingest path), plus what some pages need to
    show something: accepted items, a digest sent last week, an outside recipient, an API token."""
    folder = tmp_path_factory.mktemp("demo")
    with LocalSMTPServer() as smtp:
        settings = load_settings(folder, environ={}, smtp_host=smtp.host, smtp_port=smtp.port,
                                 smtp_security="none", smtp_sender="Monitoring <digest@lab.example>",
                                 base_url="http://kb.lab.example/")
        settings = dataclasses.replace(settings, fetch_host_delay=0.0, fetch_allow_private=(
            *settings.fetch_allow_private, ipaddress.ip_network("127.0.0.0/8")))
        with serve_sample() as sample_url:
            build_demo(settings, sample_url)
        kb = open_kb(settings)
        db = kb.db
        users = {role: users_store.find_user_by_email(db, email) for email, role in DEMO_USERS}
        coordinator = users["coordinator"]
        assert coordinator is not None
        now = datetime.now(UTC)
        last_week = last_completed_week(settings, now)
        item_ids = [item.id for item in items_store.iter_items(db)]
        # Accepted now (this week's draft) and a week ago (a digest sent, so an archive page exists).
        for n, item_id in enumerate(item_ids[:12]):
            moment = now - timedelta(days=7) if n % 2 else now
            curation.set_status(db, item_id, "accepted", coordinator.id, now=moment)
        assert week_of(now - timedelta(days=7), settings) == last_week
        partner = recipients_store.add_recipient(db, "ana@partner.example", "Ana Partner")
        send_digest(db, settings, last_week)
        researcher, admin = users["researcher"], users["admin"]
        assert researcher is not None and admin is not None
        users_store.create_token(db, admin.id, "laptop")
        for role, email in ARABIC_USERS.items():
            arabic = users_store.add_user(db, email, DEMO_PASSWORD, role, name=f"Arabic {role}")
            users_store.set_user_language(db, arabic.id, "ar")
        kb.sync_index()
        with transaction(db):  # a term's preview, computed here as its background job would
            preview = previews.create(db, "term", json.dumps({"topic": "sector/welfare", "language": "sw",
                                                              "term": "ruzuku", "remove": False}),
                                      taxonomies.current_digest(db), coordinator.id, 0)
        taxonomies.run_preview(db, preview)
        ids = {
            "item": str(item_ids[0]),
            # What a researcher may open, so that every role audits the same pages.
            "case": str(cases_store.list_cases(db, researcher)[0].id),
            "contact": str(contacts_store.list_contacts(db, researcher)[0].id),
            "source": str(sources_store.list_sources(db)[0].id),
            "token": str(users_store.list_all_tokens(db)[0].id),
            "week": last_week,
            "unsubscribe": partner.unsubscribe_token,
            "system": str(systems.list_systems(db, researcher)[0].id),
            "country": "nl",
            "preview": str(preview),
        }
        server = start_in_background(web_app(kb))
        try:
            yield Demo(server.url.rstrip("/"), ids)
        finally:
            server.stop()
            kb.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def axe() -> Any:
    return pytest.importorskip("axe_playwright_python.sync_playwright").Axe()


# --- the audit ---------------------------------------------------------------------------------------


def _findings(results: dict[str, Any], url: str) -> list[str]:
    """The serious and critical violations of one page, one readable line per element."""
    lines = []
    for violation in results["violations"]:
        if violation.get("impact") not in SERIOUS:
            continue
        lines.append(f"{url}: {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')}"
                         .replace("\n", " "))
        if len(violation["nodes"]) > 5:
            lines.append(f"    ... and {len(violation['nodes']) - 5} more elements")
    return lines


def _reachable(role: str) -> list[Page]:
    """The pages a role can open: a visitor the public ones only, a signed-in user those of its rank and
    below (and the researcher the error pages)."""
    if role == "visitor":
        return [page for page in PAGES if page.role == "visitor"]
    pages = [page for page in PAGES if 0 < RANK[page.role] <= RANK[role]]
    return pages + ERROR_PAGES if role == "researcher" else pages


@pytest.mark.parametrize("role", ("visitor", "researcher", "coordinator", "admin"))
def test_every_page_has_no_serious_axe_finding_and_fits_a_phone(demo, chromium, axe, role):
    context = chromium.new_context(bypass_csp=True, viewport=DESKTOP)
    try:
        page = context.new_page()
        if role != "visitor":
            browser_sign_in(page, demo.base, DEMO_EMAILS[role], DEMO_PASSWORD)
        pages = _reachable(role)
        findings: list[str] = []
        too_wide: list[str] = []
        impacts: dict[str, int] = {}
        widest = (0, "")
        for target in pages:
            url = target.url.format(**demo.ids)
            page.set_viewport_size(DESKTOP)
            response = page.goto(demo.base + url)
            assert response is not None
            assert response.status == target.status, f"{role} on {url}: HTTP {response.status}"
            audits = [axe.run(page, options=DESKTOP_RULES).response]
            page.set_viewport_size(PHONE)
            width = page.evaluate("document.documentElement.scrollWidth")
            widest = max(widest, (width, url))
            if width > PHONE["width"]:
                too_wide.append(f"{url}: {width} px wide ({_widest(page)})")
            # At phone width only what layout changes: boxes that scroll, targets, overlapping colours.
            audits.append(axe.run(page, options=PHONE_RULES).response)
            for width_name, results in zip(("desktop", "390 px"), audits, strict=True):
                findings += _findings(results, f"{url} at {width_name}")
                for violation in results["violations"]:
                    key = f"{violation['impact']} {violation['id']}"
                    impacts[key] = impacts.get(key, 0) + len(violation["nodes"])
        # Figures for the record (pytest -s): elements found per impact and rule (all impacts), the widest.
        print(f"\n{role}: {len(pages)} pages; axe elements by impact {impacts}; widest at 390 px: "
              f"{widest[1]} {widest[0]} px")
        report = "\n".join(findings)
        assert not findings, f"axe-core, serious or critical, as {role}:\n{report}"
        assert not too_wide, f"sideways scrolling at 390 px as {role}:\n" + "\n".join(too_wide)
    finally:
        context.close()


@pytest.mark.parametrize("role", ("visitor", "researcher", "admin"))
def test_arabic_pages_are_right_to_left_fit_a_phone_and_pass_axe(demo, chromium, axe, role):
    # A signed-out browser asks for Arabic (Accept-Language); signed in, the user's own choice decides.
    locale = "ar" if role == "visitor" else "en"
    context = chromium.new_context(bypass_csp=True, viewport=PHONE, locale=locale)
    try:
        page = context.new_page()
        if role != "visitor":
            browser_sign_in(page, demo.base, ARABIC_USERS[role], DEMO_PASSWORD)
        pages = ERROR_PAGES if role == "researcher" else _reachable(role)
        findings: list[str] = []
        wrong: list[str] = []
        for target in pages:
            url = target.url.format(**demo.ids)
            response = page.goto(demo.base + url)
            assert response is not None and response.status == target.status, f"{role} on {url}"
            html = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
            if html != ["ar", "rtl"]:
                wrong.append(f"{url}: lang and dir {html}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wrong.append(f"{url}: {width} px wide ({_widest(page)})")
            findings += _findings(axe.run(page, options=DESKTOP_RULES).response, f"{url} in Arabic at 390 px")
        print(f"\nArabic {role}: {len(pages)} pages at 390 px")
        assert not wrong, f"Arabic pages as {role}:\n" + "\n".join(wrong)
        assert not findings, f"axe-core, serious or critical, in Arabic as {role}:\n" + "\n".join(findings)
    finally:
        context.close()


def _widest(page: Any) -> str:
    """What sticks out: elements reaching past the viewport whose parent does not or that are positioned
    out of their parent (outside any box that scrolls on its own), the first three, as tag#id.class. Past
    the right edge, or the left one on a right-to-left page (which overflows to the left)."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth, found = [];
        const rtl = getComputedStyle(document.documentElement).direction === 'rtl';
        const past = rect => rtl ? rect.left < -0.5 : rect.right > width + 0.5;
        // Inside a box that scrolls, unless positioned out of it (absolute, with its containing block
        // above the box: then it widens the page although it sits inside the box in the document).
        const scrolls = el => {
            const pos = getComputedStyle(el).position;
            let held = pos !== 'absolute' && pos !== 'fixed';
            for (let a = el.parentElement; a; a = a.parentElement) {
                const style = getComputedStyle(a);
                if (!held && pos === 'absolute' && style.position !== 'static') held = true;
                if (held && style.overflowX !== 'visible') return true;
            }
            return false;
        };
        for (const el of document.body.querySelectorAll('*')) {
            const parent = el.parentElement;
            const out = !past(parent.getBoundingClientRect()) || getComputedStyle(el).position === 'absolute';
            if (past(el.getBoundingClientRect()) && out && !scrolls(el)) {
                const cls = typeof el.className === 'string' && el.className.trim()
                    ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
                const rect = el.getBoundingClientRect();
                found.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls + ' to '
                           + Math.round(rtl ? rect.left : rect.right) + ' px');
            }
            if (found.length === 3) break;
        }
        return found.join(', ') || 'nothing found';
    }""")


def test_the_audit_sees_what_it_must_catch(demo, chromium, axe):
    """The checks above fail on a broken page: an unlabelled field, grey on grey text and a box wider than
    a phone, added to a real page of the app."""
    context = chromium.new_context(bypass_csp=True, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(demo.base + "/login")
        page.evaluate("""() => {
            const main = document.querySelector('main');
            main.insertAdjacentHTML('beforeend', '<input id="unlabelled">'
                + '<p style="color:#aaa;background:#bbb">Grey on grey</p>'
                + '<div class="too-wide" style="width:600px">wide</div>');
        }""")
        found = "\n".join(_findings(axe.run(page, options=DESKTOP_RULES).response, "/login"))
        assert "label (critical)" in found and "#unlabelled" in found, found
        assert "color-contrast (serious)" in found, found
        assert page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]
        assert "div.too-wide" in _widest(page)
    finally:
        context.close()


def test_facets_fold_on_a_phone_and_the_menu_stays_on_screen(demo, chromium):
    context = chromium.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        browser_sign_in(page, demo.base, DEMO_EMAILS["admin"], DEMO_PASSWORD)  # the longest menu
        page.goto(demo.base + "/?q=algorithm")
        menu = page.locator(".top nav a")
        assert menu.count() >= 8
        for n in range(menu.count()):
            box = menu.nth(n).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], \
                f"menu entry {menu.nth(n).inner_text()!r} is off-screen: {box}"
        facet = page.locator("[data-facet=language] a").first
        assert not facet.is_visible()  # folded: the results come first
        first_hit = page.locator(".hit").first.bounding_box()
        assert first_hit is not None and first_hit["y"] < PHONE["height"], first_hit
        page.click(".facets summary")
        assert facet.is_visible()
        page.set_viewport_size(DESKTOP)  # wide screens show the facets open, without a summary to click
        page.reload()
        assert facet.is_visible() and not page.locator(".facets summary").is_visible()
    finally:
        context.close()
