"""@@sync-bundles?remote=<name>: Export to file, download it, Import from file, and Push."""

import os

from plone import api
from plone.protect import CheckAuthenticator
from Products.Five.browser import BrowserView
from zExceptions import BadRequest
from zExceptions import NotFound
from ZPublisher.Iterators import filestream_iterator

from senaite_style_sync import _
from senaite_style_sync.actions.bundles import start_export
from senaite_style_sync.actions.bundles import start_import
from senaite_style_sync.actions.jobs import started_message
from senaite_style_sync.actions.messages import message
from senaite_style_sync.browser.steps import TRIGGER
from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.browser.utils import sync_page_url
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.peer.bundle import BundleError


NO_FILE = _("Choose a bundle file to import.")


class SyncBundlesView(BrowserView):
    """GET shows the forms; POST (CSRF token) starts an export, an import or a push."""

    error = ""

    def __call__(self) -> str:
        self.remote = requested_remote(self.context, self.request)
        if self.request.method != "POST":
            return self.index()
        CheckAuthenticator(self.request)
        form = self.request.form
        try:
            if "form.buttons.export" in form:
                since = form.get("since") if form.get("since") in ("", "all") else ""
                job = start_export(self.context, self.remote, since, TRIGGER)
            elif "form.buttons.import" in form:
                upload = form.get("bundle")
                if not getattr(upload, "filename", ""):
                    self.error = NO_FILE
                    return self.index()
                job = start_import(self.context, self.remote, upload, TRIGGER)
            elif "form.buttons.push" in form:
                job = start_job(self.context, self.remote, "push", TRIGGER)
            else:
                raise BadRequest(message("Unknown action."))
        except (JobRefused, BundleError) as refused:
            self.error = message(str(refused))
            return self.index()
        api.portal.show_message(started_message(job, self.remote), self.request, type="info")
        self.request.response.redirect(f"{self.context.absolute_url()}/@@sync-bundles?remote={self.remote.name}")
        return ""

    def jobs(self, step: str) -> list[Job]:
        return [job for job in JobStore(self.context).history(self.remote.name) if job.step == step]

    def last_export(self) -> Job | None:
        exports = self.jobs("export")
        return exports[0] if exports else None

    def downloadable(self, job: Job | None) -> bool:
        return job is not None and job.state == "done" and bool(job.bundle) and os.path.isfile(job.bundle)

    def checkpoint(self) -> str:
        log, seq = self.remote.state.feed_checkpoint
        return str(seq) if seq >= 0 else ""

    def sync_url(self) -> str:
        return sync_page_url()


class BundleDownloadView(BrowserView):
    """@@sync-bundle-download?remote=<name>&job=<id>: the file an export wrote."""

    def __call__(self):
        remote = requested_remote(self.context, self.request)
        job = JobStore(self.context).get(self.request.form.get("job") or "")
        if job is None or job.remote != remote.name or job.step != "export" or not job.bundle:
            raise NotFound(message("No bundle of this Remote's."))
        if not os.path.isfile(job.bundle):
            raise NotFound(message("The bundle's file is gone."))
        response = self.request.response
        response.setHeader("Content-Type", "application/zip")
        response.setHeader("Content-Length", str(os.path.getsize(job.bundle)))
        response.setHeader("Content-Disposition", f'attachment; filename="{remote.name}-{job.id}.zip"')
        return filestream_iterator(job.bundle, "rb")
