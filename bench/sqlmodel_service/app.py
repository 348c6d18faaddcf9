"""The service's read routes for recipe runs, as pangeo-forge-orchestrator serves them with
FastAPI: a session per request from a dependency, a sync route (FastAPI runs it in its
thread pool), the table model returned and shaped by the response model. The run's bakery
and feedstock are loaded lazily while the response is built, as in the service.

    DATABASE_URL=postgresql://... python3 -m uvicorn sqlmodel_service.app:app --app-dir bench
"""

import os
from typing import List

from fastapi import Depends, FastAPI, HTTPException, Query
from sqlmodel import Session, create_engine, select

from .models import RecipeRun, RecipeRunRead, RecipeRunReadWithBakeryAndFeedstock

engine = create_engine(os.environ["DATABASE_URL"])
app = FastAPI()


def get_session():
    with Session(engine) as session:
        yield session


@app.get("/")
def status():
    return {"status": "ok"}


@app.get("/recipe_runs/", response_model=List[RecipeRunRead])
def read_recipe_runs(*, session: Session = Depends(get_session), offset: int = 0,
                     limit: int = Query(default=100, le=100), order_by: str = "id",
                     sort: str = Query(default="asc", regex="^(asc|desc)$")):
    if order_by not in RecipeRun.__table__.columns:
        raise HTTPException(status_code=422, detail="order_by must be a column of reciperun")
    column = RecipeRun.__table__.columns[order_by]
    statement = select(RecipeRun).order_by(column.desc() if sort == "desc" else column.asc())
    return session.exec(statement.offset(offset).limit(limit)).all()


@app.get("/recipe_runs/{recipe_run_id}", response_model=RecipeRunReadWithBakeryAndFeedstock)
def read_recipe_run(*, session: Session = Depends(get_session), recipe_run_id: int):
    recipe_run = session.get(RecipeRun, recipe_run_id)
    if not recipe_run:
        raise HTTPException(status_code=404, detail="RecipeRun not found")
    return recipe_run
