"""gunicorn's settings for o2o, read by ``gunicorn app:app`` from this directory (and by
``scripts/run.sh``). Command-line options still win; this file sets only what the app needs of
its server:

- Prometheus' multiprocess mode: every worker writes its metrics to files in
  ``PROMETHEUS_MULTIPROC_DIR`` (a fresh private directory unless you set one; emptied at start),
  so ``GET /metrics`` on any worker answers for all of them; a dead worker's gauges are dropped.
- With ``O2O_JSON_LOGS=1``, gunicorn's own log lines as JSON too (:mod:`o2o.logs`).
"""

import os
import shutil
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Set before the app (and so prometheus_client) is imported: the library reads it then.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="o2o-prometheus-")
    os.environ["O2O_PROMETHEUS_DIR_MADE"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]  # ours to remove

if os.environ.get("O2O_JSON_LOGS", "").strip().lower() in ("1", "true", "yes", "on"):
    from o2o.logs import gunicorn_logconfig

    logconfig_dict = gunicorn_logconfig()


def on_starting(server):
    """A restarted server must not add up the counters of its previous run."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.unlink(os.path.join(directory, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    made = os.environ.get("O2O_PROMETHEUS_DIR_MADE")
    if made and made == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(made, ignore_errors=True)
