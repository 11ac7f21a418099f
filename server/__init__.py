"""The HTTP front end: Qdrant's REST API on Quart-Trio and hypercorn."""

import os

# Queries already run in parallel (one worker thread per segment search); BLAS threads on top
# of that oversubscribe the cores, so numpy's BLAS gets one thread unless the user says more.
# This runs before numpy is first imported by the server.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
