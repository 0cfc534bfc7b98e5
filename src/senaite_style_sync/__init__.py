"""senaite_style_sync: keep Plone sites in step over plone.restapi."""

from zope.i18nmessageid import MessageFactory


_ = MessageFactory("senaite_style_sync")
