"""@sync-jobs: a sync job's progress and outcome, and the confirmation of deletions it held back.

    GET  @sync-jobs/<id>                        the job: state, progress (done, total, percent,
                                                rate, ETA), counts, plan, per-object errors and
                                                warnings, held deletions, the outcome message
    POST @sync-jobs/<id>/@confirm-deletions     carry out the deletions the job held back (202,
                                                a "delete" job; 409 while another job of the
                                                remote runs or when there is nothing to confirm)

Jobs are started with POST @sync-remotes/<name>/@fetch | @import | @update.
"""
