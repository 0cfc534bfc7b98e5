"""Persistent records: Remotes and their settings, sync state, jobs.

Records stored before these modules moved here name their classes by the old module
paths; the aliases below let the database load them.
"""

import sys

from senaite_style_sync.model import jobs
from senaite_style_sync.model import remote
from senaite_style_sync.model import state


for _old, _module in (
    ("senaite_style_sync.remotes.remote", remote),
    ("senaite_style_sync.state.sync_state", state),
    ("senaite_style_sync.jobs.store", jobs),
):
    sys.modules.setdefault(_old, _module)
