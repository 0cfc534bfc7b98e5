"""Bundles and push from the command line: ``bin/instance run scripts/sync_bundle.py --help``
(senaite_style_sync/cli.py says more)."""

import sys

from senaite_style_sync.cli import main


sys.exit(main(app, sys.argv[1:]))  # noqa: F821 -- ``app`` is given by ``bin/instance run``
