"""This add-on's settings from zope.conf: ``<product-config senaite_style_sync>``."""

from App.config import getConfiguration


def product_config() -> dict[str, str]:
    """The section's keys and values (empty when the section is absent)."""
    return (getattr(getConfiguration(), "product_config", None) or {}).get("senaite_style_sync", {})
