"""The Python service's data model and create route, as pangeo-forge-orchestrator writes
them with SQLModel, for side-by-side benchmarks (bench/python_create_runs.py)."""
