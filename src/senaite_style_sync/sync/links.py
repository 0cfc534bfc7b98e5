"""The peer's URLs of its own objects, back in the form Plone stores them.

plone.restapi serves rich text as rendered output and a Link's ``remoteUrl`` as the
target's absolute URL: links to content are the peer's URLs, images are scale URLs with a
hash that names a scale stored on the peer only (``@@images/image-400-<hash>.png``), and
images with a picture variant are ``<picture>`` elements. Plone itself stores
``resolveuid/<UID>`` links (``${portal_url}/resolveuid/<UID>`` in a Link) and images as
``resolveuid/<UID>/@@images/<field>/<scale>``. Stored as served, a copy would link back to
the other site and show full-size originals where a preview was chosen.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import unquote

from bs4 import BeautifulSoup


# A scale URL as the peer renders it: @@images/<field>-<width>-<hash>.<ext>
SCALE_URL = re.compile(r"^@@images/(?P<field>[\w-]+?)-(?P<width>\d+)-[0-9a-f]+\.\w+$")
URL_ATTRIBUTES = {
    "a": ("href",),
    "area": ("href",),
    "img": ("src",),
    "source": ("src",),
    "iframe": ("src",),
    "audio": ("src",),
    "video": ("src",),
}
SRCSET_TAGS = ("img", "source")
RESOLVEUID = re.compile(r"resolveuid/([0-9a-zA-Z_-]+)")
PORTAL_URL = "${portal_url}"


@dataclass
class LinkConverter:
    """Turns URLs under the peer's ``base`` that name an object in the sync's scope into resolveuid links.

    ``uid_for_path`` gives the local UID of a peer path (None outside the scope);
    ``scale_for_width`` the name of the image scale of a width. URLs of the peer outside
    the scope are kept as they are and collected in ``outside``.
    """

    base: str
    uid_for_path: Callable[[str], str | None]
    local_uid: Callable[[str], str | None] = lambda remote_uid: remote_uid
    scale_for_width: Callable[[int], str | None] = lambda width: None
    outside: list[str] = field(default_factory=list)

    def resolve(self, url: str, scale_hint: str = "") -> str | None:
        """``resolveuid/<UID>[/rest][?query][#fragment]`` for a peer URL in scope; None otherwise."""
        prefix = self.base.rstrip("/") + "/"
        if not url.startswith(prefix):
            return None
        path, _, fragment = url[len(prefix) :].partition("#")
        path, _, query = path.partition("?")
        segments = [unquote(segment) for segment in path.split("/")]
        for cut in range(len(segments), 0, -1):
            uid = self.uid_for_path("/".join(segments[:cut]))
            if uid:
                rest = "/".join(segments[cut:])
                scale = SCALE_URL.match(rest)
                if scale:  # a hashed scale URL only makes sense on the peer: name the scale
                    name = scale_hint or self.scale_for_width(int(scale.group("width")))
                    rest = f"@@images/{scale.group('field')}" + (f"/{name}" if name else "")
                return (
                    f"resolveuid/{uid}"
                    + (f"/{rest}" if rest else "")
                    + (f"?{query}" if query else "")
                    + (f"#{fragment}" if fragment else "")
                )
        self.outside.append(url)
        return None

    def html(self, text: str) -> str:
        """Rich text as Plone stores it; the text itself when nothing in it is the peer's."""
        if self.base.rstrip("/") not in text:
            return text
        soup = BeautifulSoup(text, "html.parser")
        changed = False
        for picture in soup.find_all("picture"):
            image = picture.find("img")
            if image is not None and image.get("data-picturevariant"):
                # The output filter made the <picture> from this <img>: store the <img> again.
                image.attrs.pop("loading", None)
                picture.replace_with(image)
                changed = True
        for tag in soup.find_all(list(URL_ATTRIBUTES)):
            for attribute in URL_ATTRIBUTES[tag.name]:
                value = tag.get(attribute)
                new = self.resolve(value, tag.get("data-scale") or "") if isinstance(value, str) else None
                if new is not None:
                    tag[attribute] = new
                    changed = True
        for tag in soup.find_all(SRCSET_TAGS):
            srcset = tag.get("srcset")
            if isinstance(srcset, str) and self.base in srcset:
                tag["srcset"] = self.srcset(srcset)
                changed = True
        return str(soup) if changed else text

    def srcset(self, srcset: str) -> str:
        candidates = []
        for candidate in srcset.split(","):
            url, _, size = candidate.strip().partition(" ")
            candidates.append(" ".join(part for part in (self.resolve(url) or url, size) if part))
        return ",".join(candidates)

    def link_url(self, url: str) -> str:
        """A Link's ``remoteUrl``: ``${portal_url}/resolveuid/<UID>`` for an object in scope."""
        resolved = self.resolve(url) if isinstance(url, str) else None
        return f"{PORTAL_URL}/{resolved}" if resolved else url

    def stored(self, text: str) -> str:
        """Text the peer serves as stored (resolveuid links already): its UIDs made this site's.

        A copy whose UID was taken here has another UID than its original; links to an
        object outside the scope are kept, and collected in ``outside``.
        """

        def local(match: re.Match) -> str:
            uid = self.local_uid(match.group(1))
            if uid is None:
                self.outside.append(match.group(0))
                return match.group(0)
            return f"resolveuid/{uid}"

        return RESOLVEUID.sub(local, text)
