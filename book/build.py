"""Build the course's website from the committed notebooks: ``python -m book.build``.

``make site`` runs this. The steps:

1. Read every ``notebooks/NN_*.ipynb`` (the lessons) and ``solutions/NN_*.ipynb``: number, topic
   and time come from each notebook's title cell (``# NN · Topic`` and its ``**Time:**`` line),
   so the landing page's table never disagrees with the notebooks.
2. Stage the pages in ``OUT/source``: the landing page (``book/landing.md`` filled in), a copy of
   each notebook with a short card added under its title (download link; the lesson links to its
   solutions and back), and the original notebooks for the download links.
3. Run Sphinx with ``book/conf.py`` (myst-nb renders the stored outputs, nothing is executed),
   warnings being errors, into ``OUT/html``.
4. Check every link and image of the generated HTML that points inside the site.

Nothing is downloaded: the theme, the search and MathJax all come from installed packages.
"""

from __future__ import annotations

import argparse
import ast
import copy
import html.parser
import importlib.util
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import ClassVar
from urllib.parse import unquote, urlsplit

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
DEFAULT_OUT = BOOK / "_build"

#: What the site needs of MathJax 3 (paths inside the package's MathJax folder): the TeX to
#: HTML component, its fonts, and the TeX extensions it loads on demand.
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")

TITLE = re.compile(r"^#[ \t]+(?P<number>\d+)[ \t]*·[ \t]*(?P<topic>.+?)[ \t]*$", re.MULTILINE)
TIME = re.compile(r"\*\*Time:\*\*\s*(?P<time>.+)")


class SiteError(RuntimeError):
    """The site could not be built, or it has broken links."""


def course_constants() -> tuple[str, str]:
    """The GitHub repository and the git ref the badges point to, as ``tools/notebooks.py``
    defines them (``GITHUB_REPOSITORY``; ``COURSE_REF``, called ``BRANCH`` before).

    The values are read from the module's source rather than by importing it: importing it
    imports torch, which the site does not otherwise need (the Pages workflow does not install it).
    """
    tree = ast.parse((ROOT / "tools" / "notebooks.py").read_text(encoding="utf-8"))
    values = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("GITHUB_REPOSITORY", "COURSE_REF", "BRANCH"):
                    values[target.id] = ast.literal_eval(node.value)
    return values["GITHUB_REPOSITORY"], values.get("COURSE_REF", values.get("BRANCH", "main"))


def mathjax_source() -> Path:
    """The MathJax 3 folder shipped by the ``sphinx-mathjax-offline`` package (requirements-site.txt)."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise SiteError("MathJax is missing: install requirements-site.txt (make site does)")
    return Path(spec.origin).parent / "static" / "mathjax"


# --------------------------------------------------------------------------- reading notebooks


@dataclass
class Lesson:
    """One lesson of the course: its student notebook, its solution notebook, or both."""

    name: str  # file name without .ipynb, e.g. "02_autograd"
    number: str
    topic: str
    time: str
    student: Path | None
    solution: Path | None

    @property
    def title(self) -> str:
        return f"{self.number} · {self.topic}"


def read_notebook(path: Path) -> dict:
    """The notebook at ``path`` as plain JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


def title_cell(notebook: dict) -> str:
    """The source of the notebook's first markdown cell (its title cell), or ``""``."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return ""


def describe(name: str, notebook: dict) -> tuple[str, str, str]:
    """Number, topic and time of a notebook, from its title cell (the file name where it has none)."""
    text = title_cell(notebook)
    title = TITLE.search(text)
    if title:
        number, topic = title["number"], title["topic"]
    else:
        number, _, rest = name.partition("_")
        topic = rest.replace("_", " ").capitalize()
    found = TIME.search(text)
    # "about 75 minutes to work through; the notebook runs in ..." -> "about 75 minutes"
    spent = re.split(r";|\.(?:\s|$)", found["time"])[0].replace("to work through", "").strip() if found else ""
    return number, topic, spent or "not measured yet"


def read_lessons(notebooks_dir: Path, solutions_dir: Path) -> list[Lesson]:
    """Every lesson whose student or solution notebook exists, in course order."""
    students = {path.stem: path for path in notebooks_dir.glob("[0-9][0-9]_*.ipynb")}
    solutions = {path.stem: path for path in solutions_dir.glob("[0-9][0-9]_*.ipynb")}
    lessons = []
    for name in sorted(students.keys() | solutions.keys()):
        # The student notebook is what the site shows first; its title cell is the reference.
        number, topic, spent = describe(name, read_notebook(students.get(name) or solutions[name]))
        lessons.append(Lesson(name, number, topic, spent, students.get(name), solutions.get(name)))
    return lessons


# --------------------------------------------------------------------------- staging the pages


def lesson_card(lesson: Lesson) -> str:
    """The note added under a lesson's title: how to run it, and where its solutions are."""
    lines = [
        "```{admonition} Run it, then check your answers",
        ":class: tip",
        "",
        (
            "Open this lesson on Colab or Binder with the badges above, or "
            f"{{download}}`download the notebook </_originals/notebooks/{lesson.name}.ipynb>` "
            "and open it in the course's JupyterLab (`make lab`)."
        ),
    ]
    if lesson.solution:
        lines += [
            "",
            (
                "Try each exercise first: the cell after it checks your answer and offers a hint. "
                f"Then compare with {{doc}}`the solutions <../solutions/{lesson.name}>`."
            ),
        ]
    return "\n".join(lines + ["```"])


def solution_card(lesson: Lesson) -> str:
    """The note added under a solution notebook's title."""
    lesson_link = f"{{doc}}`the lesson <../lessons/{lesson.name}>`" if lesson.student else "the lesson"
    return "\n".join(
        [
            "```{admonition} Solutions: try first",
            ":class: important",
            "",
            (
                f"This is lesson {lesson.number} with every exercise solved. Try the exercises in "
                f"{lesson_link} before reading on. "
                f"{{download}}`Download this notebook </_originals/solutions/{lesson.name}.ipynb>`."
            ),
            "```",
        ]
    )


def with_card(notebook: dict, card: str, title_suffix: str = "", searchable: bool = True) -> dict:
    """A copy of ``notebook`` with ``card`` as a markdown cell right after the title cell,
    ``title_suffix`` appended to its title, and left out of the search index unless ``searchable``."""
    staged = copy.deepcopy(notebook)
    if not searchable:
        staged.setdefault("metadata", {})["nosearch"] = True  # read by Sphinx through myst-nb
    cells = staged.setdefault("cells", [])
    index = next((i for i, cell in enumerate(cells) if cell.get("cell_type") == "markdown"), -1)
    if title_suffix and index >= 0:
        source = "".join(cells[index]["source"]) if isinstance(cells[index]["source"], list) else cells[index]["source"]
        cells[index]["source"] = TITLE.sub(lambda m: m[0] + title_suffix, source, count=1)
    new_cell = {"cell_type": "markdown", "metadata": {}, "source": card}
    if (staged.get("nbformat"), staged.get("nbformat_minor", 0)) >= (4, 5):
        new_cell["id"] = "course-site-card"
    cells.insert(index + 1, new_cell)
    return staged


def landing_page(lessons: list[Lesson], repository: str) -> str:
    """The landing page: ``book/landing.md`` with the table of lessons and the menus filled in."""
    rows = ["| # | Lesson | Time | Solutions |", "|---|---|---|---|"]
    for lesson in lessons:
        page = f"lessons/{lesson.name}" if lesson.student else f"solutions/{lesson.name}"
        solutions = f"{{doc}}`solutions <solutions/{lesson.name}>`" if lesson.solution else "–"
        rows.append(f"| {lesson.number} | {{doc}}`{lesson.topic} <{page}>` | {lesson.time} | {solutions} |")
    toctrees = []
    for caption, folder, present in (("Lessons", "lessons", "student"), ("Solutions", "solutions", "solution")):
        entries = [f"{lesson.title} <{folder}/{lesson.name}>" for lesson in lessons if getattr(lesson, present)]
        toctrees.append("\n".join(["```{toctree}", f":caption: {caption}", ":hidden:", "", *entries, "```"]))
    template = Template((BOOK / "landing.md").read_text(encoding="utf-8"))
    return template.substitute(
        repository_url=f"https://github.com/{repository}",
        folder=repository.split("/")[-1],
        lesson_table="\n".join(rows),
        toctrees="\n\n".join(toctrees),
    )


def write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless it holds it already (so Sphinx rebuilds only what changed)."""
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def stage(lessons: list[Lesson], source: Path) -> None:
    """Write the site's Sphinx source folder: landing page, notebook pages, originals to download."""
    repository, _ = course_constants()
    wanted = {source / "index.md"}
    write_if_changed(source / "index.md", landing_page(lessons, repository).encode("utf-8"))
    for lesson in lessons:
        # A solution page repeats its lesson's text: search finds the lesson, which links to it.
        # The download links (see lesson_card) point to _originals/notebooks and _originals/solutions.
        for folder, originals, original, card, suffix, searchable in (
            ("lessons", "notebooks", lesson.student, lesson_card, "", True),
            ("solutions", "solutions", lesson.solution, solution_card, ": solutions", False),
        ):
            if original is None:
                continue
            committed = original.read_bytes()
            page = with_card(json.loads(committed), card(lesson), suffix, searchable)
            pages = {
                source / folder / original.name: json.dumps(page, indent=1, ensure_ascii=False).encode("utf-8"),
                source / "_originals" / originals / original.name: committed,  # downloaded as it is
            }
            for path, content in pages.items():
                write_if_changed(path, content)
                wanted.add(path)
    for path in source.rglob("*"):  # pages of notebooks that no longer exist
        if path.is_file() and path not in wanted:
            path.unlink()


def run_sphinx(source: Path, out: Path, jobs: str) -> None:
    """Run Sphinx on the staged source into ``out/html``; any warning fails the build."""
    if importlib.util.find_spec("sphinx") is None:
        raise SiteError("Sphinx is missing: the site needs Python 3.11 or newer and requirements-site.txt installed")
    command = [
        sys.executable, "-m", "sphinx", "-b", "html", "-c", str(BOOK), "-d", str(out / "doctrees"),
        "-W", "--keep-going", "-q", "-j", jobs, str(source), str(out / "html"),
    ]  # fmt: skip
    result = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SiteError(f"Sphinx failed (exit {result.returncode}):\n{result.stderr}{result.stdout}")


# --------------------------------------------------------------------------- checking the result


class _LinkCollector(html.parser.HTMLParser):
    """Collects the ids of a page and the URLs it links to or loads."""

    ATTRIBUTES: ClassVar[dict[str, str]] = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src"}

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        url = attributes.get(self.ATTRIBUTES.get(tag, ""))
        if url is not None:
            self.urls.append((tag, url))


def check_links(html_dir: Path) -> list[str]:
    """Every link, image, stylesheet and script of the site's pages that points inside the site
    and finds nothing there (a missing file, or a missing ``#anchor`` in another page)."""
    html_dir = html_dir.resolve()
    pages = {}
    for page in sorted(html_dir.rglob("*.html")):
        if page.relative_to(html_dir).parts[0] in ("_static", "_downloads"):
            continue  # theme templates and downloadable files, not pages
        collector = _LinkCollector()
        collector.feed(page.read_text(encoding="utf-8"))
        pages[page] = collector
    problems = []
    for page, collector in pages.items():
        for tag, url in collector.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:")):
                continue  # outside the site (Colab, Binder, GitHub, ...)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            where = f"{page.relative_to(html_dir)}: <{tag}> {url}"
            if not target.is_relative_to(html_dir) or not target.exists():
                problems.append(f"{where}: no such file")
            elif target.is_dir() and not (target / "index.html").exists():
                problems.append(f"{where}: a folder without index.html")
            elif parts.fragment and target != page and target in pages and parts.fragment not in pages[target].ids:
                problems.append(f"{where}: no #{parts.fragment} in {target.relative_to(html_dir)}")
    return problems


def site_size(html_dir: Path) -> int:
    """Bytes of all files of the site."""
    return sum(path.stat().st_size for path in html_dir.rglob("*") if path.is_file())


def build(
    out: Path = DEFAULT_OUT,
    notebooks_dir: Path = ROOT / "notebooks",
    solutions_dir: Path = ROOT / "solutions",
    jobs: str = "auto",
) -> Path:
    """Build the site into ``out/html`` and return that folder; raise :class:`SiteError` on any
    Sphinx warning or broken internal link."""
    out = Path(out).resolve()
    lessons = read_lessons(Path(notebooks_dir), Path(solutions_dir))
    if not lessons:
        raise SiteError(f"no notebooks in {notebooks_dir} or {solutions_dir}")
    stage(lessons, out / "source")
    run_sphinx(out / "source", out, jobs)
    problems = check_links(out / "html")
    if problems:
        raise SiteError("broken links in the site:\n" + "\n".join(problems))
    return out / "html"


def main(argv: list[str] | None = None) -> int:
    """Command line: build, then report the time, the number of pages and the size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build folder (default: book/_build)")
    parser.add_argument("-j", "--jobs", default="auto", help="Sphinx processes (default: auto)")
    arguments = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        html_dir = build(arguments.out, jobs=arguments.jobs)
    except SiteError as error:
        print(error, file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    pages = sum(1 for _ in html_dir.rglob("*.html"))
    print(
        f"Built the website in {seconds:.0f} s: {pages} pages, {site_size(html_dir) / 1e6:.1f} MB in "
        f"{html_dir.relative_to(ROOT) if html_dir.is_relative_to(ROOT) else html_dir}\n"
        f"Open {html_dir / 'index.html'} in a browser, or serve it: "
        f"python -m http.server -d {html_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
