"""This add-on's settings from zope.conf: ``<product-config senaite_style_sync>``."""

import os

from App.config import getConfiguration


def product_config() -> dict[str, str]:
    """The section's keys and values (empty when the section is absent)."""
    return (getattr(getConfiguration(), "product_config", None) or {}).get("senaite_style_sync", {})


def bundle_dir() -> str:
    """Where bundles wait: product-config ``bundle-dir``, else ``senaite_style_sync-bundles`` in
    the instance's var directory."""
    configured = product_config().get("bundle-dir")
    if configured:
        return configured
    config = getConfiguration()
    var = getattr(config, "clienthome", None) or os.path.join(config.instancehome, "var")
    return os.path.join(var, "senaite_style_sync-bundles")
