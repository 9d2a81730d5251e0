"""Serve MathJax from the built HTML so that math renders without network access.

Sphinx's mathjax extension loads MathJax 3 from a CDN unless ``mathjax_path`` is set
to another location. This extension sets ``mathjax_path`` to a copy under
``_static/mathjax/`` and, after each HTML build, copies the MathJax 3.2.2 ES5 tree
(the loader components, TeX extensions and CHTML web fonts) there from the
``django-static-mathjax`` package, which ships those files as package data.

Only ``mathjax_path`` changes, so ``mathjax3_config`` and MyST's ``dollarmath`` and
``amsmath`` settings work as with the CDN copy.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX_DISTRIBUTION = "django-static-mathjax"
# Location of the MathJax repository copy inside the installed distribution.
MATHJAX_PACKAGE_ROOT = Path("mathjax", "static", "mathjax")
# The combined TeX and MathML input, CHTML output component, as Sphinx uses by default.
MATHJAX_ENTRY_SCRIPT = "tex-mml-chtml.js"
# Folder under the HTML output's _static/ that receives the copy.
STATIC_SUBDIR = "mathjax"


def find_mathjax_root() -> Path:
    """Locate the MathJax repository copy inside the installed django-static-mathjax.

    Raises:
        ExtensionError: if the package is not installed or lacks the ES5 tree.
    """
    try:
        distribution = metadata.distribution(MATHJAX_DISTRIBUTION)
    except metadata.PackageNotFoundError as error:
        raise ExtensionError(
            f"offline_mathjax: the Python package {MATHJAX_DISTRIBUTION} is not "
            "installed, so there is no local MathJax to copy into the book. Install "
            "the pinned version from requirements.txt, for example with `make venv`."
        ) from error

    root = Path(distribution.locate_file(MATHJAX_PACKAGE_ROOT))
    entry_script = root / "es5" / MATHJAX_ENTRY_SCRIPT
    if not entry_script.is_file():
        raise ExtensionError(
            f"offline_mathjax: {entry_script} not found in the installed "
            f"{MATHJAX_DISTRIBUTION} {distribution.version}. Reinstall the version "
            "pinned in requirements.txt."
        )
    return root


def use_local_mathjax(app: Sphinx, config: Config) -> None:
    # A path without a URL scheme is resolved relative to the output's _static/.
    config.mathjax_path = f"{STATIC_SUBDIR}/{MATHJAX_ENTRY_SCRIPT}"
    # Fail at the start of the build, not after all pages are written.
    find_mathjax_root()


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return

    root = find_mathjax_root()
    target = Path(app.outdir, "_static", STATIC_SUBDIR)
    logger.info("offline_mathjax: copying MathJax from %s to %s", root, target)
    shutil.copytree(root / "es5", target, dirs_exist_ok=True)
    # MathJax is Apache-2.0 licensed, so its licence travels with the copy.
    shutil.copy2(root / "LICENSE", target / "LICENSE")


def setup(app: Sphinx) -> dict[str, object]:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
