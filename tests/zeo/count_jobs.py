"""Run by a ZEO client: print how many jobs the remote ``lab`` has had."""

from senaite_style_sync.model.jobs import JobStore


print("JOBS", len(JobStore(app.Plone).history("lab")))  # noqa: F821 -- ``app`` is given by ``bin/clientN run``
