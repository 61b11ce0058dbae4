"""Drive Debian's headless Chromium through selenium: the browser test's helper.

Shared by ``tests/test_browser.py`` and ``analysis/screenshots.py``. Chromium and
its driver are Debian's (``apt-get install chromium chromium-driver``, which
``.ci/run`` does); selenium is given the driver's path and told to stay offline, so
Selenium Manager never downloads a driver or a browser. cpeval itself does not
depend on selenium: only the tests and the screenshot script import this.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: the phone and desktop widths the report is checked at (CSS px)
WIDTHS = (390, 1280)
#: the tallest full-page screenshot taken (px); longer pages are cut at this height
MAX_HEIGHT = 50_000
#: axe-core, vendored with its licence (tests/fixtures/axe-core/README.md)
AXE = Path(__file__).resolve().parent / "fixtures" / "axe-core" / "axe.min.js"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

# Everything the page check needs, measured in one round trip. A graphic is
# clipped when it is empty, reaches past the viewport, or reaches past an ancestor
# that hides or scrolls its overflow.
_MEASURE = r"""
const vw = window.innerWidth, root = document.documentElement;
const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
  (el.classList.length ? '.' + [...el.classList].join('.') : '');
const path = (el) => {
  const parts = [];
  for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement)
    parts.unshift(describe(e));
  return parts.join(' > ');
};
const box = (r) => ({left: Math.round(r.left), right: Math.round(r.right),
                     width: Math.round(r.width), height: Math.round(r.height)});
const clippers = (el) => {
  const out = [];
  for (let e = el.parentElement; e && e !== root; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.overflowX !== 'visible' || s.overflowY !== 'visible') out.push(e);
  }
  return out;
};
const images = [...document.images].map((img) => ({
  src: (img.getAttribute('src') || '').slice(0, 60), complete: img.complete,
  naturalWidth: img.naturalWidth, alt: img.getAttribute('alt')}));
// what a reader cannot see (e.g. inside a closed <details>) is left out
const shown = (el) => !el.checkVisibility || el.checkVisibility();
const graphics = [...document.querySelectorAll('svg, img')]
  .filter((g) => !g.parentElement.closest('svg') && shown(g))
  .map((g) => {
    const r = g.getBoundingClientRect();
    const clippedBy = clippers(g).filter((c) => {
      const cr = c.getBoundingClientRect();
      return r.left < cr.left - 1 || r.right > cr.right + 1;
    }).map(path);
    // drawn size over natural size: text in a figure shrinks by this factor
    const natural = g.tagName.toLowerCase() === 'img' ? g.naturalWidth
      : (g.width && g.width.baseVal ? g.width.baseVal.value : 0);
    return {element: path(g), box: box(r), inFigure: !!g.closest('figure'),
            clippedBy: clippedBy,
            scale: natural ? Math.round(100 * r.width / natural) / 100 : null};
  });
// the outermost elements that stick out past the right edge of the viewport
// (inside a scrolling or hiding box they cannot widen the page)
const wide = [];
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.right <= root.clientWidth + 0.5 && r.left >= -0.5) continue;
  if (!shown(el)) continue;
  if (clippers(el).length) continue;
  if (el.closest('svg') && el.closest('svg') !== el) continue;
  if (wide.some((w) => w.contains(el))) continue;
  wide.push(el);
}
return {
  innerWidth: vw, clientWidth: root.clientWidth, scrollWidth: root.scrollWidth,
  scrollHeight: Math.max(root.scrollHeight, document.body.scrollHeight),
  images: images, graphics: graphics,
  wide: wide.slice(0, 20).map((el) => ({element: path(el),
                                         box: box(el.getBoundingClientRect())})),
  tables: document.querySelectorAll('table').length,
  text: document.body.innerText,
};
"""

# a readable name for an element axe names by selector: its caption, heading or text
_LABEL = r"""
return arguments[0].map((sel) => {
  let el = null;
  try { el = document.querySelector(sel); } catch (e) { return sel; }
  if (!el) return sel;
  const named = el.querySelector('caption, figcaption, h1, h2, h3, summary');
  const text = ((named || el).textContent || '').trim().replace(/\s+/g, ' ');
  return sel + (text ? ' "' + text.slice(0, 50) + '"' : '');
});
"""

# the page's height down to the body's bottom margin (not the viewport's height)
_CONTENT_HEIGHT = (
    "const b = document.body;"
    "return Math.ceil(b.getBoundingClientRect().bottom + window.scrollY"
    " + parseFloat(getComputedStyle(b).marginBottom));"
)

_AXE_RUN = (
    "const done = arguments[arguments.length - 1];"
    "axe.run(document, {resultTypes: ['violations']})"
    ".then((r) => done(r.violations), (e) => done({error: String(e)}));"
)


def missing() -> str | None:
    """Why the browser cannot be driven here, or None when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (it is in the 'test' extra)"
    if chromium_binary() is None:
        return "Chromium is not installed (.ci/run installs Debian's chromium)"
    if shutil.which("chromedriver") is None:
        return "chromedriver is not installed (.ci/run installs chromium-driver)"
    if not AXE.is_file():
        return f"the axe-core fixture is missing: {AXE}"
    return None


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium(width: int, height: int = 900) -> Iterator:
    """A headless Chromium with a ``width`` x ``height`` viewport, quit on exit.

    Its profile lives in a fresh temporary folder, removed afterwards. Browser
    console messages are kept (``driver.get_log("browser")``).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager must not fetch anything: the driver's path is given below
    os.environ["SE_OFFLINE"] = "true"
    with tempfile.TemporaryDirectory(prefix="cpeval-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium_binary()
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=shutil.which("chromedriver"))
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_script_timeout(60)
            driver.set_page_load_timeout(60)
            set_viewport(driver, width, height)
            yield driver
        finally:
            driver.quit()


def set_viewport(driver, width: int, height: int) -> None:
    """Make the layout viewport exactly ``width`` x ``height`` CSS px (desktop, 1x)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def inspect(driver, page: Path, width: int, screenshot: Path | None = None) -> dict:
    """Load ``page`` at ``width`` px and measure it; optionally save a screenshot.

    The screenshot shows the page as it opens; then every ``<details>`` is opened
    (a reader may open them) and the page is measured and checked by axe-core.
    Returns the measurements (see ``_MEASURE``), the browser's console messages
    (``console``) and axe-core's violations (``violations``, each with id,
    impact, help and the nodes' selectors with their captions).
    """
    set_viewport(driver, width, 900)
    driver.get_log("browser")  # drop messages from earlier pages
    driver.get(Path(page).resolve().as_uri())
    driver.execute_script("return document.fonts ? document.fonts.ready : null")
    if screenshot is not None:
        save_full_page(driver, screenshot, width)
    driver.execute_script(
        "document.querySelectorAll('details').forEach((d) => { d.open = true; })"
    )
    found = driver.execute_script(_MEASURE)
    found["console"] = driver.get_log("browser")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    violations = driver.execute_async_script(_AXE_RUN)
    if isinstance(violations, dict):
        raise RuntimeError(f"axe-core failed: {violations['error']}")
    found["violations"] = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "helpUrl": v["helpUrl"],
            "targets": driver.execute_script(
                _LABEL, [" ".join(map(str, n["target"])) for n in v["nodes"]]
            ),
            "summary": v["nodes"][0].get("failureSummary", "") if v["nodes"] else "",
        }
        for v in violations
    ]
    # axe itself must not have logged errors either
    found["console"] += driver.get_log("browser")
    return found


def save_full_page(driver, path: Path, width: int) -> None:
    """A PNG of the whole page (up to ``MAX_HEIGHT`` px tall) at ``width`` px.

    The viewport is made as tall as the page, so the page has no vertical
    scrollbar while it is photographed (as on a phone, whose scrollbars overlay).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        for _ in range(2):  # without a scrollbar the page is wider, so shorter
            height = driver.execute_script(_CONTENT_HEIGHT)
            set_viewport(driver, width, min(max(int(height), 1), MAX_HEIGHT))
        driver.save_screenshot(str(path))
    finally:
        set_viewport(driver, width, 900)


def problems(found: dict, width: int) -> list[str]:
    """The issue 14 criteria a page measured by ``inspect`` fails, in words."""
    out = []
    if found["innerWidth"] != width:
        out.append(f"viewport is {found['innerWidth']} px wide, not {width}")
    if found["scrollWidth"] > min(found["innerWidth"], found["clientWidth"]):
        wide = "; ".join(
            f"{w['element']} (left {w['box']['left']}, right {w['box']['right']})"
            for w in found["wide"]
        )
        out.append(
            f"horizontal overflow: page is {found['scrollWidth']} px wide in a "
            f"{found['innerWidth']} px window; sticking out: {wide or 'unknown'}"
        )
    for img in found["images"]:
        if not (img["complete"] and img["naturalWidth"] > 0):
            out.append(f"image not loaded: {img['src']!r}")
    for g in found["graphics"]:
        b = g["box"]
        if b["width"] <= 0 or b["height"] <= 0:
            out.append(f"graphic has an empty box: {g['element']} {b}")
        elif b["left"] < -1 or b["right"] > found["innerWidth"] + 1:
            out.append(
                f"graphic clipped by the viewport: {g['element']} spans "
                f"{b['left']}..{b['right']} px in a {found['innerWidth']} px window"
            )
        for clipper in g["clippedBy"]:
            out.append(f"graphic clipped by {clipper}: {g['element']} {b}")
    for entry in found["console"]:
        if entry.get("level") == "SEVERE":
            out.append(f"console error: {entry.get('message')}")
    for v in found["violations"]:
        if v["impact"] in ("serious", "critical"):
            out.append(
                f"axe {v['impact']} {v['id']}: {v['help']} "
                f"({len(v['targets'])} nodes: {', '.join(v['targets'][:10])})"
            )
    return out
