"""Benchmark the guarded graph against LangChain's `create_agent`, with and without middleware.

Why this exists: every safety concern in Safe Agent is a graph node, and that design only pays
if it costs about what the equivalent LangChain middleware stack costs. `python -m bench` runs
one workload set through three systems in one process, with the same scripted model, the same
tool functions and the same SQLite checkpointer setup, so the ratios isolate the framework and
safety overhead rather than model or I/O noise:

(a) `create_agent` with no middleware,
(b) `create_agent` with the middleware closest to our nodes,
(c) `SafeAgent` (our graph) on a temporary data folder.

See `docs/benchmarks.md` for a run's numbers and how to read them.
"""
