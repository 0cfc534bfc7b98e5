"""Bundles and push from the command line, for scripts and cron (docs/bundles.rst):

    bin/instance run scripts/sync_bundle.py export --site Plone --remote server [--all | --since N] --output FILE
    bin/instance run scripts/sync_bundle.py import --site Plone --remote laptop FILE
    bin/instance run scripts/sync_bundle.py push --site Plone --remote server

Each runs as a job of the Remote (in the run history, with its errors), in this process;
the exit status is 0 when the job ended without errors.
"""

import argparse
import shutil
import sys

import transaction
from zope.component.hooks import setSite

from senaite_style_sync.actions.bundles import start_export
from senaite_style_sync.actions.bundles import start_import
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import run_here
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.jobs.system import as_system
from senaite_style_sync.model.jobs import SYSTEM_USER
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer.bundle import BundleError


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sync_bundle.py", description="Offline bundles and push.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("export", "write a bundle"), ("import", "apply a bundle"), ("push", "push to the receiver")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--site", required=True, help="the Plone site's id in the Zope root")
        command.add_argument("--remote", required=True, help="the Remote's name")
    commands.choices["export"].add_argument("--all", action="store_true", help="everything, not only the changes")
    commands.choices["export"].add_argument(
        "--since", default="", help="the changes after this number of this site's change log (the receiver says which)"
    )
    commands.choices["export"].add_argument("--output", required=True, help="where to write the bundle")
    commands.choices["import"].add_argument("bundle", help="the bundle file")
    return parser


def main(app, argv: list[str]) -> int:
    args = parser().parse_args(argv)
    with as_system(app._p_jar.db(), SYSTEM_USER) as system_app:
        site = system_app.unrestrictedTraverse(args.site, None)
        remote = RemoteStorage(site).get(args.remote) if site is not None else None
        if remote is None:
            print(f"No Remote {args.remote!r} on a site {args.site!r}.", file=sys.stderr)
            return 2
        setSite(site)
        try:
            if args.command == "export":
                job = start_export(site, remote, "all" if args.all else args.since, "cli", in_thread=False)
            elif args.command == "import":
                with open(args.bundle, "rb") as source:
                    job = start_import(site, remote, source, "cli", in_thread=False)
            else:
                job = start_job(site, remote, "push", "cli", in_thread=False)
        except (JobRefused, BundleError, OSError) as refused:
            print(str(refused), file=sys.stderr)
            return 2
        transaction.commit()
        job = run_here(site, job)
        print(f"{job.step}: {job.state}. {job.message}")
        for error in list(job.errors)[:50]:
            print(f"  {error['object']} ({error['step']}): {error['message']}", file=sys.stderr)
        if args.command == "export" and job.state == "done":
            shutil.copyfile(job.bundle, args.output)
            print(f"Written to {args.output}.")
        return 0 if job.state == "done" and not job.counts.get("errors") else 1
