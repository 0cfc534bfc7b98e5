"""plone.restapi services."""
