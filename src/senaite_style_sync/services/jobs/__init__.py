"""@sync-jobs: a sync job's progress and outcome, and the confirmation of deletions it held back.

    GET  @sync-jobs/<id>                        the job: state, progress (done, total, percent,
                                                rate, ETA), counts, plan, per-object errors and
                                                warnings, held deletions, the outcome message
    POST @sync-jobs/<id>/@confirm-deletions     carry out the deletions the job held back (202,
                                                a "delete" job; 409 while another job of the
                                                remote runs or when there is nothing to confirm)
    POST @sync-jobs/<id>/@repair                write again the copies a Verify job found different
                                                (202, a "repair" job; 409 as above)

Jobs are started with POST @sync-remotes/<name>/@fetch | @import | @update.
"""
