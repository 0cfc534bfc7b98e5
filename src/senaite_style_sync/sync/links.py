"""Turn the peer's rendered rich text back into portable ``resolveuid`` links.

plone.restapi serves rich text as rendered output: links to content are the peer's
absolute URLs. A faithful copy stores ``resolveuid/<UID>`` links instead, which resolve
on this site because UIDs are kept.
"""

import re
from collections.abc import Callable


SCALE_HASH = re.compile(r"^@@images/([\w-]+?)-\d+-[0-9a-f]+\.\w+$")
ATTRIBUTE = re.compile(r"""(\s(?:href|src)=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def portable_links(html: str, base: str, uid_for_path: Callable[[str], str | None]) -> str:
    """Replace href/src values under ``base`` that name a known object by ``resolveuid/<UID>[/rest]``."""
    prefix = base.rstrip("/") + "/"

    def replace(match: re.Match) -> str:
        url = match.group(3)
        if not url.startswith(prefix):
            return match.group(0)
        path, _, tail = url[len(prefix) :].partition("#")
        path, _, query = path.partition("?")
        segments = path.split("/")
        for cut in range(len(segments), 0, -1):
            uid = uid_for_path("/".join(segments[:cut]))
            if uid:
                rest = "/".join(segments[cut:])
                scale = SCALE_HASH.match(rest)
                if scale:  # a hashed scale URL only makes sense on the peer: name the field instead
                    rest = f"@@images/{scale.group(1)}"
                new = f"resolveuid/{uid}" + (f"/{rest}" if rest else "")
                new += (f"?{query}" if query else "") + (f"#{tail}" if tail else "")
                return f"{match.group(1)}{match.group(2)}{new}{match.group(2)}"
        return match.group(0)

    return ATTRIBUTE.sub(replace, html)
