"""Where a site keeps its Remotes: a BTree in an annotation on the site root."""

from collections.abc import Iterator

from BTrees.OOBTree import OOBTree
from zope.annotation.interfaces import IAnnotations

from senaite_style_sync.model.remote import Remote


ANNOTATION_KEY = "senaite_style_sync.remotes"


class RemoteStorage:
    """The site's Remotes by name. Reading never writes: the BTree is made on first add."""

    def __init__(self, site) -> None:
        self.annotations = IAnnotations(site)

    @property
    def _tree(self) -> OOBTree | None:
        return self.annotations.get(ANNOTATION_KEY)

    def __contains__(self, name: str) -> bool:
        tree = self._tree
        return tree is not None and name in tree

    def __iter__(self) -> Iterator[Remote]:
        tree = self._tree
        return iter(tree.values() if tree is not None else ())

    def get(self, name: str) -> Remote | None:
        tree = self._tree
        return tree.get(name) if tree is not None else None

    def add(self, remote: Remote) -> None:
        if remote.name in self:
            raise KeyError(remote.name)
        if self._tree is None:
            self.annotations[ANNOTATION_KEY] = OOBTree()
        self._tree[remote.name] = remote

    def delete(self, name: str) -> None:
        del self._tree[name]

    def clear(self) -> None:
        self.annotations.pop(ANNOTATION_KEY, None)
