"""What the services with sub-paths share: the path after the endpoint's name."""

from plone.restapi.services import Service
from zope.interface import implementer
from zope.publisher.interfaces import IPublishTraverse


@implementer(IPublishTraverse)
class PathService(Service):
    """Collects the path after the endpoint (``@sync-jobs/<id>/…``) into ``self.params``."""

    def __init__(self, context, request) -> None:
        super().__init__(context, request)
        self.params: list[str] = []

    def publishTraverse(self, request, name: str):
        self.params.append(name)
        return self
