"""Marker interfaces."""

from zope.publisher.interfaces.browser import IDefaultBrowserLayer


class ISenaiteStyleSyncLayer(IDefaultBrowserLayer):
    """Browser layer: the add-on's views and services exist only where it is installed."""
