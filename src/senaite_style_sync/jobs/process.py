"""Which process runs a job: this Zope instance (the same after a restart) and this process of it.

A job records both when it is created (its thread starts in the process that created it). At
start-up an instance can then tell the jobs its previous process left unfinished from jobs
of other clients of a ZEO cluster, which only their heartbeat's expiry may release.
"""

import os
import socket
import uuid

from App.config import getConfiguration

from senaite_style_sync.config import product_config


# New at each start of the process: a pid alone may come back after a restart.
BOOT_ID = uuid.uuid4().hex


def instance_id() -> str:
    """The ``instance-id`` of the product-config, else this host and the instance's home."""
    configured = product_config().get("instance-id")
    if configured:
        return str(configured)
    return f"{socket.gethostname()}:{getattr(getConfiguration(), 'instancehome', '')}"


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{BOOT_ID}"
