"""restosync's worker shell: RQ workers (non-forking, long-lived) and the cron scheduler.

``python -m restosync_worker`` runs the workers; ``restosync_worker.scheduler``
runs the scheduler. Jobs are thin module-level functions in ``jobs``; the
services they use are built once per worker process in ``runtime``.
"""
