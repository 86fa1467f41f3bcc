"""The course's website (``book/``, built by ``make site``).

The site is built once, into a temporary folder, from the committed notebooks. The tests check
that every notebook has its page, that the landing page's table matches the notebooks, that the
build fails on a broken internal link or a missing image, and that nothing is loaded from the
network. A browser test then opens the site in headless Chromium (Debian's ``chromium`` and
``chromium-driver`` packages, driven by selenium) and checks what a reader sees: titles,
rendered formulas, loaded figures and the search. Its screenshots go to
``book/_build/screenshots/`` (git-ignored).

Without Chromium the browser test is skipped with the reason, except in CI (``CI`` set), where it
fails: CI installs Chromium (``.ci/run``), so a missing one is a broken setup.
"""

from __future__ import annotations

import functools
import html
import http.server
import importlib.util
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from book import build as site

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
SCREENSHOTS = site.BOOK / "_build" / "screenshots"

#: The two lesson pages the browser opens: both have formulas and figures.
BROWSER_LESSONS = ("04_losses_and_optimisers", "07_cnns")

#: Search terms that each occur in one lesson only (solution pages are not searched: they repeat
#: their lesson). The browser searches for the first whose page exists, and must find that page
#: alone; when a new notebook uses the word too, put another word first.
UNIQUE_TERMS = (
    ("Rosenblatt", "lessons/03_nn_module"),
    ("micrograd", "lessons/02_autograd"),
    ("Yosinski", "lessons/08_transfer_learning"),
)


def unavailable(reason: str) -> None:
    """Skip a test for a missing tool, or fail it in CI, where every tool must be installed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site_tools() -> None:
    """Sphinx and its extensions, from requirements-site.txt."""
    if any(importlib.util.find_spec(name) is None for name in ("sphinx", "myst_nb", "sphinx_book_theme")):
        unavailable("the site's tools are not installed: pip install -r requirements-site.txt (make test does)")


@pytest.fixture(scope="module")
def html_dir(site_tools, tmp_path_factory) -> Path:
    """The site, built from the repository's notebooks into a temporary folder."""
    return site.build(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def lessons() -> list[site.Lesson]:
    """The course's lessons, as the site reads them from the notebooks."""
    return site.read_lessons(site.ROOT / "notebooks", site.ROOT / "solutions")


def page_text(path: Path) -> str:
    """The HTML of a generated page."""
    return path.read_text(encoding="utf-8")


def visible_text(markup: str) -> str:
    """The text of an HTML page or fragment, tags removed (code is split into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# --------------------------------------------------------------------------- the build


def test_every_notebook_has_a_page_in_course_order(html_dir, lessons):
    students = sorted(path.stem for path in (site.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    solutions = sorted(path.stem for path in (site.ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    assert students, "no student notebooks found"
    for name in students:
        assert (html_dir / "lessons" / f"{name}.html").is_file(), f"no page for notebooks/{name}.ipynb"
    for name in solutions:
        assert (html_dir / "solutions" / f"{name}.html").is_file(), f"no page for solutions/{name}.ipynb"
    # The menu lists the lessons in course order, then the solutions.
    menu = re.findall(r'href="(lessons|solutions)/(\d\d_\w+)\.html"', page_text(html_dir / "index.html"))
    lesson_menu = [name for folder, name in menu if folder == "lessons"]
    assert list(dict.fromkeys(lesson_menu)) == students


def test_landing_page_table_comes_from_the_notebooks(html_dir, lessons):
    index = page_text(html_dir / "index.html")
    table = index[index.index("<table") : index.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.DOTALL)[1:]  # without the header row
    assert len(rows) == len(lessons)
    for row, lesson in zip(rows, lessons):
        cells = [visible_text(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        assert cells[:3] == [lesson.number, lesson.topic, lesson.time]
    for notebook in sorted((site.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        title = site.title_cell(site.read_notebook(notebook))
        if "**Time:**" in title:  # notebooks being written may not have measured their time yet
            time = re.search(r"\*\*Time:\*\*\s*about (\d+ minutes)", title)
            assert time is None or time[1] in index, f"{notebook.name}: its time is not on the landing page"
    assert "make lab" in visible_text(index) and "make test" in visible_text(index)


def test_lesson_pages_link_badges_download_and_solutions(html_dir, lessons):
    repository, _ = site.course_constants()
    for lesson in lessons:
        if lesson.student is None:
            continue
        page = page_text(html_dir / "lessons" / f"{lesson.name}.html")
        assert f"<title>{lesson.title}" in page
        assert f"colab.research.google.com/github/{repository}/" in page, f"{lesson.name}: no Colab badge"
        assert f"mybinder.org/v2/gh/{repository}/" in page, f"{lesson.name}: no Binder badge"
        assert re.search(rf'href="\.\./_downloads/\w+/{lesson.name}\.ipynb"', page), f"{lesson.name}: no download link"
        title = site.title_cell(site.read_notebook(lesson.student))
        for part in ("You will learn to", "Time:"):  # objectives and time, where the notebook has them
            assert (part in title) <= (part in visible_text(page)), f"{lesson.name}: {part!r} is not on its page"
        if lesson.solution:
            assert f'href="../solutions/{lesson.name}.html"' in page, f"{lesson.name}: no link to its solutions"
            solution = page_text(html_dir / "solutions" / f"{lesson.name}.html")
            assert f'href="../lessons/{lesson.name}.html"' in solution, f"{lesson.name}: solutions do not link back"
        # The download is the notebook exactly as committed.
        download = re.search(rf'href="\.\./(_downloads/\w+/{lesson.name}\.ipynb)"', page)[1]
        assert (html_dir / download).read_bytes() == lesson.student.read_bytes()


def test_site_loads_nothing_from_the_network(html_dir):
    """Scripts, stylesheets and fonts all come from the site itself, MathJax included."""
    for page in [html_dir / "index.html", *sorted((html_dir / "lessons").glob("*.html"))]:
        text = page_text(page)
        external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"[^>]*>', text)
        assert external == [], f"{page.name} loads from the network: {external}"
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert '_static/mathjax/tex-chtml.js"' in page_text(html_dir / "lessons" / f"{BROWSER_LESSONS[0]}.html")


def test_site_has_no_broken_internal_links(html_dir):
    assert site.check_links(html_dir) == []


def tiny_course(folder: Path, markdown: str) -> tuple[Path, Path]:
    """A course of one notebook whose only cells are a title and ``markdown``."""
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# 00 · Tiny\n\n**Time:** about 1 minute."},
            {"cell_type": "markdown", "metadata": {}, "source": markdown},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    for part in ("notebooks", "solutions"):
        (folder / part).mkdir(parents=True)
        (folder / part / "00_tiny.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    return folder / "notebooks", folder / "solutions"


@pytest.mark.parametrize(
    "markdown, problem",
    [
        ("See [the next lesson](01_missing.ipynb).", "01_missing"),
        ("![A figure](figures/missing.png)", "missing.png"),
    ],
    ids=["broken link", "missing image"],
)
def test_build_fails_on_a_broken_link_or_missing_image(site_tools, tmp_path, markdown, problem):
    notebooks, solutions = tiny_course(tmp_path / "course", markdown)
    with pytest.raises(site.SiteError, match=problem):
        site.build(tmp_path / "out", notebooks, solutions, jobs="1")


def test_link_check_finds_what_sphinx_does_not_check(tmp_path):
    """Raw HTML in a notebook is copied as it is: the check after the build catches it."""
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "a.html").write_text(
        '<p id="here"><a href="b.html#there">b</a> <img src="../_images/gone.png"> '
        '<a href="https://example.org/x">outside</a> <a href="#here">here</a></p>',
        encoding="utf-8",
    )
    (tmp_path / "page" / "b.html").write_text('<a href="a.html#here">a</a> <a href="c.html">c</a>', encoding="utf-8")
    problems = site.check_links(tmp_path)
    assert len(problems) == 3, problems
    assert any("gone.png" in problem for problem in problems)
    assert any("no #there" in problem for problem in problems)
    assert any("c.html" in problem for problem in problems)


# --------------------------------------------------------------------------- in a browser


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site and remembers every request it could not answer."""

    missing: list[str]

    def log_message(self, format, *args):
        """Keep the test's output quiet."""

    def send_error(self, code, message=None, explain=None):
        self.missing.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def server(html_dir):
    """A local web server for the site (search needs http, not file://): (base URL, failed requests)."""
    missing: list[str] = []
    handler = type("Handler", (_Handler,), {"missing": missing})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(html_dir)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", missing
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from Debian's packages, driven by selenium (no driver download)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        unavailable("Chromium is not installed: apt-get install chromium chromium-driver")
    try:
        from selenium import webdriver
    except ImportError:
        unavailable("selenium is not installed: pip install -r requirements-site.txt")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(driver, script: str, what: str, timeout: float = 30):
    """Wait until the JavaScript expression ``script`` is truthy in the page; return its value."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {script}"))
    except TimeoutException:
        pytest.fail(f"{driver.current_url}: {what} within {timeout} s")


def screenshot(driver, name: str, selector: str | None = None) -> None:
    """Save what the window shows to ``SCREENSHOTS/name.png``, scrolled to ``selector`` if given."""
    if selector:
        driver.execute_script(f"document.querySelector({json.dumps(selector)}).scrollIntoView()")
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_site_in_a_browser(browser, html_dir, server, lessons):
    base, missing = server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    by_name = {lesson.name: lesson for lesson in lessons}

    # The landing page: title, start commands, one table row per lesson.
    browser.get(f"{base}/index.html")
    assert browser.title.startswith("Hands-on PyTorch")
    rows = browser.execute_script("return document.querySelectorAll('article table tbody tr').length")
    assert rows == len(lessons)
    assert "make lab" in browser.find_element("tag name", "article").text
    screenshot(browser, "landing")
    screenshot(browser, "landing-lessons", "article table")

    for name in BROWSER_LESSONS:
        lesson = by_name[name]
        browser.get(f"{base}/lessons/{name}.html")
        assert browser.title.startswith(lesson.title), browser.title
        # MathJax (served by the site) has typeset the formulas, without errors.
        wait_for(browser, "document.querySelectorAll('mjx-container').length > 0", "no formula was rendered")
        assert browser.execute_script("return document.querySelectorAll('mjx-merror').length") == 0
        # A figure from the notebook's stored outputs has loaded.
        wait_for(
            browser,
            "Array.from(document.querySelectorAll('.cell_output img'))"
            ".some(img => img.complete && img.naturalWidth > 0)",
            "no figure loaded",
        )
        # The code cells have copy buttons.
        assert browser.execute_script("return document.querySelectorAll('button.copybtn').length") > 0
        screenshot(browser, name)
        screenshot(browser, f"{name}-card", ".admonition")
        screenshot(browser, f"{name}-formula", "mjx-container")

    # Search finds a term of one page only, and only that page.
    searchable = json.loads(re.search(r"\((.*)\)", page_text(html_dir / "searchindex.js"), re.DOTALL)[1])
    term, page = next(
        ((term, page) for term, page in UNIQUE_TERMS if page in searchable["docnames"]),
        (None, None),
    )
    assert term, "none of UNIQUE_TERMS' pages exists: pick a term that occurs on one page only"
    browser.get(f"{base}/search.html?q={term}")
    wait_for(browser, "document.querySelector('#search-results h2')?.textContent === 'Search Results'", "no search")
    found = browser.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search li > a')).map(a => a.href)"
    )
    assert [url.split("#")[0] for url in found] == [f"{base}/{page}.html"], (
        f"searching {term!r} found {found}: is it still on one page only? If not, pick another term"
    )
    screenshot(browser, "search")

    # Every file the pages asked for was there (scripts, styles, fonts, images, search index).
    assert missing == []
