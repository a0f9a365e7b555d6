"""o2o without its compression hook: bench_wire.py's baseline over HTTP, the same app otherwise.

    .venv/bin/gunicorn -w 2 -b 127.0.0.1:8002 --chdir bench nocompress_app:app
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from o2o.web import compression, create_app  # noqa: E402

app = create_app()
app.after_request_funcs[None].remove(compression.compress)
