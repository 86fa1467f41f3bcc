"""Sphinx configuration of the course's website.

`python -m book.build` (or `make site`) stages the pages in a build folder and runs Sphinx with
this file (``sphinx-build -c book``): the notebooks are rendered from their committed outputs by
myst-nb, laid out by sphinx-book-theme, and everything the pages load (MathJax included) is
copied into the site, so it builds and reads without a network.
"""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from book.build import MATHJAX_FILES, course_constants, mathjax_source

REPOSITORY, BRANCH = course_constants()

project = "Hands-on PyTorch"

extensions = ["myst_nb", "sphinx_copybutton", "sphinx.ext.mathjax"]

# Notebooks are shown with the outputs committed in them; nothing is executed.
nb_execution_mode = "off"
nb_merge_streams = True
# No widget JavaScript from a CDN (the notebooks store no widget state anyway).
nb_ipywidgets_js = {}

# `$...$` and `$$...$$` as in Jupyter; `\begin{align}` environments too.
myst_enable_extensions = ["dollarmath", "amsmath"]
# `[text](#heading)` links within a page.
myst_heading_anchors = 3

# MathJax is served from the site itself (see setup below), never from a CDN.
mathjax_path = "mathjax/tex-chtml.js"

exclude_patterns = ["_originals/**"]

html_theme = "sphinx_book_theme"
html_title = "Hands-on PyTorch"
html_favicon = "static/favicon.svg"
html_static_path = ["static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
html_show_copyright = False
html_copy_source = False
html_theme_options = {
    "repository_url": f"https://github.com/{REPOSITORY}",
    "repository_branch": BRANCH,
    "use_repository_button": True,
    # The theme's download button would offer the staged copy of a notebook; each lesson has
    # its own download link to the notebook exactly as it is in the repository.
    "use_download_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    # One search field, in the sidebar (not a second one in a header bar above the page).
    "navbar_persistent": [],
    "footer_content_items": ["extra-footer.html"],
    "extra_footer": (
        f'Built from the notebooks in <a href="https://github.com/{REPOSITORY}">{REPOSITORY}</a>, '
        "with the outputs they were committed with."
    ),
}

# Prompts and output are not copied by the copy button, only the code.
copybutton_exclude = ".linenos, .gp, .go"


def copy_mathjax(app, exception):
    """Copy the parts of MathJax the pages load into the site's ``_static/mathjax`` folder."""
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for relative in MATHJAX_FILES:
        origin = source / relative
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, destination)


def setup(app):
    """Hook the MathJax copy into the build."""
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
