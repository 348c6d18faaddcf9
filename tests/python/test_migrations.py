"""Migrations from Python: the bundled history up and down on a real database, the
version table, stamp, history and heads, check, revision files written by
autogenerate, offline SQL, and a failing revision leaving the database where it was."""

import json
import shutil

import pytest

import pangeo_forge as pf
from fields import BAKERY, FEEDSTOCK, run_fields

HISTORY = ["81c7d27bde71", "6197f9c7aff6", "b0ec74f6d899", "70bcddc9fffa", "0499cef6b57a", "3b96e7fb9cbd", "b51d1daaff02", "a453b710a63a"]
HEAD = HISTORY[-1]


@pytest.fixture
def own_folder(tmp_path):
    """A copy of the bundled migrations that a test may add revisions to."""
    folder = tmp_path / "migrations"
    shutil.copytree(pf.bundled_migrations(), folder)
    return folder


def test_upgrade_applies_every_revision_in_order_and_reports_each(migrations):
    seen = []
    steps = migrations.upgrade("head", progress=seen.append)
    assert [step.revision for step in steps] == HISTORY
    assert [step.revision for step in seen] == HISTORY
    assert all(step.direction == "upgrade" and step.duration_ms >= 0 for step in steps)
    assert steps[1].heads_before == [HISTORY[0]] and steps[1].heads_after == [HISTORY[1]]
    assert str(steps[0]).startswith("Running upgrade base -> 81c7d27bde71, initial migration")
    assert migrations.current() == [HEAD]
    assert migrations.at_head()


def test_upgrade_builds_the_declared_tables(database, migrations):
    assert database.tables() == []
    migrations.upgrade("head")
    assert sorted(database.tables()) == ["bakery", "dispatch", "feedstock", "github_delivery", "github_report", "reciperun"]
    assert migrations.check() == []


def test_downgrade_to_base_and_up_again(database, migrations):
    migrations.upgrade("head")
    steps = migrations.downgrade("base")
    assert [step.revision for step in steps] == list(reversed(HISTORY))
    assert all(step.direction == "downgrade" for step in steps)
    assert migrations.current() == []
    assert database.tables() == []
    migrations.upgrade("head")
    assert migrations.check() == []


def test_relative_and_partial_targets(migrations):
    migrations.upgrade("+2")
    assert migrations.current() == [HISTORY[1]]
    migrations.upgrade("70bc")  # a unique prefix
    assert migrations.current() == ["70bcddc9fffa"]
    migrations.downgrade("-1")
    assert migrations.current() == ["b0ec74f6d899"]
    assert migrations.upgrade("b0ec74f6d899") == []  # nothing to do


def test_rows_survive_a_downgrade_and_upgrade(database, migrations):
    migrations.upgrade("head")
    forge = pf.Orchestrator(database)
    forge.create(pf.BakeryCreate(**BAKERY))
    forge.create(pf.FeedstockCreate(**FEEDSTOCK))
    forge.create(pf.RecipeRunCreate(**run_fields(dataset_type="zarr")))
    migrations.downgrade("6197f9c7aff6")
    migrations.upgrade("head")
    forge = pf.Orchestrator(database)
    run = forge.recipe_run(1)
    assert run.bakery.name == BAKERY["name"] and run.feedstock.spec == FEEDSTOCK["spec"]
    assert run.dataset_type is None  # the column was dropped and added again: its values went with it


def test_an_unknown_target_names_itself(migrations):
    with pytest.raises(pf.MigrationError, match="nosuchrev"):
        migrations.upgrade("nosuchrev")


def test_stamp_records_without_migrating(database, migrations):
    migrations.stamp("head")
    assert migrations.current() == [HEAD]
    assert database.tables() == []
    migrations.stamp("base")
    assert migrations.current() == []


def test_history_and_heads_are_revision_objects(migrations):
    history = migrations.history()
    assert [revision.id for revision in history] == list(reversed(HISTORY))
    assert history[-1].down_revisions == [] and history[0].down_revisions == [HISTORY[-2]]
    assert [revision.id for revision in migrations.heads()] == [HEAD]
    assert [revision.id for revision in migrations.history("6197f9c7aff6:70bcddc9fffa")] == [
        "70bcddc9fffa", "b0ec74f6d899", "6197f9c7aff6"]
    migrations.upgrade("b0ec74f6d899")
    assert [revision.id for revision in migrations.history("current:")] == list(reversed(HISTORY[2:]))
    shown = migrations.revision("0499")
    assert shown.message == "remove api keys" and shown.path.endswith(".json") and len(shown.checksum) == 64
    assert any("apikey" in line for line in shown.upgrade)
    assert shown.to_dict()["revision"] == "0499cef6b57a"


def test_history_without_a_database(own_folder):
    history_only = pf.Migrations(folder=own_folder)
    assert len(history_only.history()) == len(HISTORY)
    with pytest.raises(pf.ConfigError, match="no database"):
        history_only.current()


def test_applied_records_and_changed_files(database, own_folder):
    migrations = pf.Migrations(database, own_folder)
    migrations.upgrade("head")
    records = migrations.applied()
    assert [record["revision"] for record in records] == HISTORY
    assert migrations.changed_files() == []
    first = next(own_folder.glob("versions/81c7d27bde71*.json"))
    first.write_text(first.read_text() + "\n")
    assert any("81c7d27bde71" in line for line in pf.Migrations(database, own_folder).changed_files())


def test_check_lists_what_differs(database, migrations):
    migrations.upgrade("head")
    database.execute("ALTER TABLE bakery ADD COLUMN colour VARCHAR")
    problems = migrations.check()
    assert any("bakery.colour" in problem for problem in problems)


def test_check_says_when_the_database_is_behind(migrations):
    migrations.upgrade("0499cef6b57a")
    assert any("head" in problem for problem in migrations.check())


def test_autogenerate_writes_the_difference_as_a_revision(database, own_folder):
    migrations = pf.Migrations(database, own_folder)
    migrations.upgrade("head")
    assert migrations.create_revision("nothing", autogenerate=True) is None
    declared = pf.declared_schema()
    bakery = next(table for table in declared["tables"] if table["name"] == "bakery")
    bakery["columns"].append({"name": "website", "type": "varchar", "nullable": True})
    revision = migrations.create_revision("bakery website", autogenerate=True, schema=declared)
    assert revision is not None and revision.down_revisions == [HEAD]
    assert any("website" in line for line in revision.upgrade)
    assert [head.id for head in migrations.heads()] == [revision.id]  # the history was read again
    migrations.upgrade("head")
    assert migrations.check(schema=declared) == []
    migrations.downgrade("-1")
    assert pf.Migrations(database).check() == []


def test_an_empty_revision_and_a_merge(own_folder):
    migrations = pf.Migrations(folder=own_folder)
    first = migrations.create_revision("first branch")
    assert first.down_revisions == [HEAD]
    data = json.loads(open(first.path).read())
    assert data["upgrade"] == [] and data["message"] == "first branch"
    # A second head, built on the old head by hand, then merged.
    second = dict(data, revision="aaaaaaaaaaaa", message="second branch")
    (own_folder / "versions" / "aaaaaaaaaaaa_second_branch.json").write_text(json.dumps(second))
    migrations = pf.Migrations(folder=own_folder)
    assert len(migrations.heads()) == 2
    with pytest.raises(pf.MigrationError, match="head"):
        migrations.create_revision("ambiguous")
    merged = migrations.merge(["heads"], "join the branches")
    assert sorted(merged.down_revisions) == sorted([first.id, "aaaaaaaaaaaa"])
    assert [head.id for head in migrations.heads()] == [merged.id]


def test_revision_options_place_the_new_revision(own_folder):
    migrations = pf.Migrations(folder=own_folder)
    side = migrations.create_revision("side", head="0499", splice=True, branch_labels=["side"], rev_id="side_1",
                                      depends_on=["70bc"])
    assert side.id == "side_1" and side.down_revisions == ["0499cef6b57a"]
    assert side.branch_labels == ["side"] and side.depends_on == ["70bcddc9fffa"]
    with pytest.raises(pf.MigrationError, match="pass --head"):
        migrations.create_revision("where")
    with pytest.raises(pf.MigrationError, match="add --splice"):
        migrations.create_revision("middle", head="0499")
    with pytest.raises(pf.MigrationError, match="taken by revision side_1"):
        migrations.create_revision("again", head="side@head", branch_labels=["side"])
    assert migrations.create_revision("on side", head="side@head").down_revisions == ["side_1"]


def test_a_failing_revision_leaves_the_database_at_the_revision_before(database, own_folder, backend):
    migrations = pf.Migrations(database, own_folder)
    migrations.upgrade("head")
    pf.Orchestrator(database).create(pf.BakeryCreate(**BAKERY))
    broken = {
        "revision": "bbbbbbbbbbbb", "down_revision": HEAD, "branch_labels": [], "depends_on": [],
        "message": "adds a column then fails", "create_date": "",
        "upgrade": [
            {"op": "add_column", "table": "bakery", "column": {"name": "colour", "type": "varchar", "nullable": True}},
            {"op": "execute", "sql": "INSERT INTO no_such_table VALUES (1)"},
        ],
        "downgrade": [{"op": "drop_column", "table": "bakery", "column": "colour"}],
    }
    (own_folder / "versions" / "bbbbbbbbbbbb_fails.json").write_text(json.dumps(broken))
    migrations = pf.Migrations(database, own_folder)
    with pytest.raises(pf.MigrationError, match="bbbbbbbbbbbb"):
        migrations.upgrade("head")
    assert migrations.current() == [HEAD]
    assert pf.Migrations(database).check() == []  # no colour column left behind
    assert pf.Orchestrator(database).count_bakeries() == 1


def test_offline_sql_needs_no_database(own_folder):
    migrations = pf.Migrations(folder=own_folder)
    sqlite = migrations.upgrade_sql()
    postgresql = migrations.upgrade_sql(dialect="postgresql")
    assert "CREATE TABLE" in sqlite and "alembic_version" in sqlite
    assert sqlite != postgresql
    down = migrations.downgrade_sql("0499cef6b57a", dialect="postgresql")
    assert "bakery_name_key" in down
    with pytest.raises(ValueError, match="dialect"):
        migrations.upgrade_sql(dialect="oracle")


def test_the_orchestrator_refuses_a_database_behind_head(database, migrations):
    migrations.upgrade("0499cef6b57a")
    with pytest.raises(pf.MigrationError, match="upgrade head"):
        pf.Orchestrator(database)


def test_live_options_are_keyword_arguments_checked_like_the_command_line(migrations):
    with pytest.raises(pf.ConfigError, match="lock_timeout is '5', which is no duration"):
        migrations.upgrade("head", lock_timeout="5")
    with pytest.raises(pf.ConfigError, match="lock_retries is '-1'"):
        migrations.upgrade("head", lock_retries=-1)
    assert migrations.current() == []
    steps = migrations.upgrade("head", lock_timeout="500ms", lock_retries=0, statement_timeout="1min", online=False)
    assert [step.revision for step in steps] == HISTORY
