"""Entry points (``ganlab-train``, ``ganlab-eval``, ``ganlab-latent``): parse → preflight → build → run, sharing
one error wrapper (``shared.py``)."""
