"""Rich text from the peer that would run in a browser: scripts, event handlers, script URLs.

Plone stores rich text raw and filters it on output; a peer is untrusted, so such text is
not stored as it came: it goes through the site's own safe-HTML filter (``text/x-html-safe``,
as configured in the HTML filtering control panel) first. Any other text is stored as served,
so that a faithful copy stays byte for byte the original.
"""

import re
from html import unescape

from lxml import etree
from lxml import html
from Products.CMFCore.utils import getToolByName


ACTIVE_TAGS = frozenset({"script", "object", "embed", "applet", "base", "meta"})
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "background", "poster", "xlink:href"})
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:text/html", "data:image/svg")
HIDDEN = re.compile(r"[\x00-\x20\x7f]+")


def is_active(text: str) -> bool:
    """Does ``text`` (HTML) hold anything a browser would run?"""
    if "<" not in text:
        return False
    try:
        root = html.fragment_fromstring(text, create_parent="div")
    except (etree.ParserError, ValueError):
        return True  # not parseable as HTML: not stored unfiltered
    for element in root.iter(etree.Element):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag in ACTIVE_TAGS:
            return True
        for name, value in element.attrib.items():
            name = name.lower()
            if name.startswith("on") or name == "srcdoc":  # srcdoc: a whole page, scripts and all
                return True
            # The parser decodes the old HTML 4 entities only; a browser decodes ``&colon;`` too.
            squashed = HIDDEN.sub("", unescape(value)).lower()
            if name in URL_ATTRIBUTES and squashed.startswith(SCRIPT_SCHEMES):
                return True
            if name == "style" and ("expression(" in squashed or "javascript:" in squashed):
                return True
    return False


def safe_text(site, text: str) -> str:
    """``text`` through the site's safe-HTML filter."""
    transforms = getToolByName(site, "portal_transforms")
    stream = transforms.convertTo("text/x-html-safe", text, mimetype="text/html")
    return stream.getData() if stream is not None else ""
