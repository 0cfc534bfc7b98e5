"""Sphinx settings for `make docs`: the .rst files of docs/ as HTML, with every warning an error.

The documents link to each other as files (``remotes.rst``), which is what GitHub shows;
``rst_links`` turns such links into links to the rendered pages.
"""

import re

from docutils import nodes


project = "senaite_style_sync"
author = "senaite_style_sync contributors"
root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
# A link to a document given as its .rst file, from docs/ or from the README beside it.
RST_LINK = re.compile(r"^(?:\.\./)?(?:docs/)?(?P<name>[\w-]+)\.rst(?P<anchor>#[\w-]*)?$")
# The files outside docs/ that a document of docs/ includes.
INCLUDED = {"README": "readme", "CHANGES": "changes"}


def rst_links(app, doctree, docname) -> None:
    for reference in doctree.findall(nodes.reference):
        match = RST_LINK.match(reference.get("refuri", ""))
        if match:
            target = INCLUDED.get(match["name"], match["name"])
            if target in app.env.found_docs:
                reference["refuri"] = app.builder.get_relative_uri(docname, target) + (match["anchor"] or "")


def setup(app) -> dict:
    app.connect("doctree-resolved", rst_links)
    return {"parallel_read_safe": True}
