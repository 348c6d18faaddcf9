"""The Python service's data model, create route and read routes, as
pangeo-forge-orchestrator writes them with SQLModel and FastAPI, for side-by-side
benchmarks (bench/python_create_runs.py, bench/http_reads.sh)."""
