"""pangeo_forge: the orchestration core of Pangeo Forge, from Python.

The data model (Bakery, Feedstock, RecipeRun and their create, update and
with-relations forms), the schema migrations (Migrations: upgrade, downgrade,
stamp, current, history, heads, check, revision with autogenerate), the
orchestrator (create, read, update, delete, datasets, stats) and the HTTP API's
router, all calls into the C++ library. The GIL is released while the database
works, so threads run in parallel.

    import pangeo_forge as pf

    db = pf.Database("sqlite:///forge.db")       # or $DATABASE_URL
    pf.Migrations(db).upgrade("head")
    forge = pf.Orchestrator(db)
    bakery = forge.create(pf.BakeryCreate(region="us-central1", name="ldeo", description="..."))
"""

from ._core import (
    DEFAULT_DATABASE_URL,
    Bakery,
    BakeryCreate,
    BakeryUpdate,
    BakeryWithRecipeRuns,
    ConfigError,
    Conflict,
    Database,
    DatabaseError,
    Dataset,
    DatasetType,
    Error,
    Feedstock,
    FeedstockCreate,
    FeedstockUpdate,
    FeedstockWithRecipeRuns,
    MigrationError,
    Migrations,
    MigrationStep,
    NotFound,
    Orchestrator,
    RecipeRun,
    RecipeRunConclusion,
    RecipeRunCreate,
    RecipeRunStatus,
    RecipeRunUpdate,
    RecipeRunWithRelations,
    RepoProvider,
    Response,
    Revision,
    Router,
    StopCheck,
    ValidationError,
    Worker,
    WorkerSummary,
    MAX_BODY_BYTES,
    __version__,
    bundled_migrations,
    declared_schema,
    openapi_document,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Bakery",
    "BakeryCreate",
    "BakeryUpdate",
    "BakeryWithRecipeRuns",
    "ConfigError",
    "Conflict",
    "Database",
    "DatabaseError",
    "Dataset",
    "DatasetType",
    "Error",
    "Feedstock",
    "FeedstockCreate",
    "FeedstockUpdate",
    "FeedstockWithRecipeRuns",
    "MigrationError",
    "Migrations",
    "MigrationStep",
    "NotFound",
    "Orchestrator",
    "RecipeRun",
    "RecipeRunConclusion",
    "RecipeRunCreate",
    "RecipeRunStatus",
    "RecipeRunUpdate",
    "RecipeRunWithRelations",
    "RepoProvider",
    "Response",
    "Revision",
    "Router",
    "StopCheck",
    "ValidationError",
    "Worker",
    "WorkerSummary",
    "MAX_BODY_BYTES",
    "__version__",
    "bundled_migrations",
    "declared_schema",
    "openapi_document",
]
