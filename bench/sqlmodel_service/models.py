"""The service's SQLModel tables: a base with the client's fields, a table model with
the id and its relations, a create model and the read models, as in
pangeo-forge-orchestrator's models.py."""

import enum
from datetime import datetime
from typing import List, Optional

from sqlalchemy import event
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine


class RecipeRunStatus(str, enum.Enum):
    queued = "queued"
    in_progress = "in_progress"
    completed = "completed"


class RecipeRunConclusion(str, enum.Enum):
    action_required = "action_required"
    cancelled = "cancelled"
    failure = "failure"
    neutral = "neutral"
    success = "success"
    skipped = "skipped"
    stale = "stale"
    timed_out = "timed_out"


class DatasetType(str, enum.Enum):
    zarr = "zarr"
    kerchunk = "kerchunk"
    parquet = "parquet"


class RecipeRunBase(SQLModel):
    recipe_id: str
    bakery_id: int = Field(foreign_key="bakery.id")
    feedstock_id: int = Field(foreign_key="feedstock.id")
    head_sha: str
    version: str
    started_at: datetime
    completed_at: Optional[datetime] = None
    conclusion: Optional[RecipeRunConclusion] = None
    status: RecipeRunStatus = RecipeRunStatus.queued
    message: Optional[str] = None
    is_test: bool = False
    dataset_type: Optional[DatasetType] = None
    dataset_public_url: Optional[str] = None


class RecipeRun(RecipeRunBase, table=True):
    __tablename__ = "reciperun"
    id: Optional[int] = Field(default=None, primary_key=True)
    bakery: Optional["Bakery"] = Relationship(back_populates="recipe_runs")
    feedstock: Optional["Feedstock"] = Relationship(back_populates="recipe_runs")


class RecipeRunCreate(RecipeRunBase):
    pass


class BakeryBase(SQLModel):
    region: str
    name: str
    description: str


class Bakery(BakeryBase, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    recipe_runs: List[RecipeRun] = Relationship(back_populates="bakery")


class FeedstockBase(SQLModel):
    spec: str
    provider: str = "github"


class Feedstock(FeedstockBase, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    recipe_runs: List[RecipeRun] = Relationship(back_populates="feedstock")


class BakeryRead(BakeryBase):
    id: int


class FeedstockRead(FeedstockBase):
    id: int


class RecipeRunRead(RecipeRunBase):
    id: int

    class Config:
        # Timestamps as SPEC.md gives them (YYYY-MM-DDTHH:MM:SSZ); the encoders of the
        # returned model apply to the models nested in it.
        json_encoders = {datetime: lambda value: value.strftime("%Y-%m-%dT%H:%M:%SZ")}


class RecipeRunReadWithBakeryAndFeedstock(RecipeRunRead):
    bakery: BakeryRead
    feedstock: FeedstockRead


def sqlite_engine(path):
    """An engine with the settings pangeo_forge gives SQLite: WAL, synchronous=NORMAL,
    foreign keys on."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def configure(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return engine


def create_recipe_run(engine, body: RecipeRunCreate) -> RecipeRun:
    """What the service's POST /recipe_runs/ does: a session per request, the create
    model turned into the table model, added, committed and read back."""
    with Session(engine) as session:
        row = RecipeRun.from_orm(body)
        session.add(row)
        session.commit()
        session.refresh(row)
        return row
