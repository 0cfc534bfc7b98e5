"""@sync-remotes: list, create, read, edit, delete Remotes and test their connection.

    GET    @sync-remotes                              list
    POST   @sync-remotes                              create (201)
    GET    @sync-remotes/<name>                       read
    PATCH  @sync-remotes/<name>                       edit (204)
    DELETE @sync-remotes/<name>                       delete (204)
    POST   @sync-remotes/<name>/@test-connection      test the stored settings
    POST   @sync-remotes/<name>/@fetch                start a Fetch job (202; 409 while a job runs)
    POST   @sync-remotes/<name>/@import               start an Import job
    POST   @sync-remotes/<name>/@verify               start a Verify job: every copy compared with the peer
    POST   @sync-remotes/<name>/@update               start a Get Updates job; {"since": "<ISO 8601>"}
                                                      re-reads what the peer modified since then
    GET    @sync-remotes/<name>/@conflicts            the remote's conflicts, both versions as JSON
    GET    @sync-remotes/<name>/@conflicts/<uid>      one conflict
    POST   @sync-remotes/<name>/@conflicts/<uid>      settle it: {"take": "remote"} or {"take": "local"}

A job's progress and outcome: GET @sync-jobs/<id> (services/jobs.py).
The password is write-only: it is accepted in POST/PATCH and never returned.
"""
