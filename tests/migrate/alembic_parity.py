"""Branched histories beside Alembic: the same trees (tests/migrate/branched/: two labelled
branches on a shared stem and a merge; the bundled history with two labelled branches of
tests/migrate/bundled_branches/ on it; each as JSON revision files for pangeo-forge and as
Python files for Alembic), the same commands, one database each; after every command both must
agree on whether it failed, on the rows of alembic_version, on the tables that exist, and
on the "Running upgrade A -> B" lines of what ran. ("downgrade -1" from several heads is
left out: Alembic 1.8 picks one with a warning that it will refuse it, and pangeo-forge
refuses it. Two commands are left out where Alembic 1.8.1 errs and pangeo-forge does not
follow it; test_migrator pins pangeo-forge's answer: `downgrade 3b96e7fb9cbd` from
9999aaaa0001 and a453b710a63a undoes the merge's branches but only records, without running
them, the undoing of the main line's revisions, whose tables stay; `stamp heads` from
a453b710a63a and ffff00000001 records 9999aaaa0001 alone.)

    alembic_parity.py --pangeo-forge PATH --backend sqlite|postgresql

PostgreSQL: the server of PANGEO_FORGE_TEST_POSTGRES_URL, a schema per database. Needs
Alembic 1.8 and psycopg2 (python3-alembic, python3-psycopg2).
"""
import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import uuid

try:
    import sqlalchemy
    from alembic import command as alembic_command
    from alembic.config import Config
except ImportError as error:  # a missing tool must fail the test, not skip it
    sys.exit(f"alembic_parity needs Alembic and SQLAlchemy ({error}): apt-get install python3-alembic python3-psycopg2")

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(HERE))
BRANCHED = os.path.join(HERE, "branched")
MERGE = "dddd00000001"

# Each tree: folders of JSON revision files, Alembic's environment, folders of Alembic
# revision files, and the revision left out of them (none: every one).
TREES = {
    "merged": ([os.path.join(BRANCHED, "revisions")], os.path.join(BRANCHED, "alembic"),
               [os.path.join(BRANCHED, "alembic", "versions")], None),
    "forked": ([os.path.join(BRANCHED, "revisions")], os.path.join(BRANCHED, "alembic"),
               [os.path.join(BRANCHED, "alembic", "versions")], MERGE),
    # The bundled history (bench/alembic/ holds it for Alembic) with two labelled
    # branches on 3b96e7fb9cbd and their merge, beside the main line's b51d1daaff02.
    "bundled": ([os.path.join(PROJECT, "migrations", "versions"), os.path.join(HERE, "bundled_branches", "revisions")],
                os.path.join(PROJECT, "bench", "alembic"),
                [os.path.join(PROJECT, "bench", "alembic", "versions"), os.path.join(HERE, "bundled_branches", "alembic")],
                None),
}

# Each scenario: which tree, then commands as Alembic's verbs take them.
SCENARIOS = {
    "branches_stamp_and_label_steps": ("merged", [
        "upgrade bbbb00000002",
        "upgrade cccc00000002",
        "stamp bbbb00000001",  # the beta head stays
        "stamp bbbb00000002",
        "downgrade beta@-1",
        "upgrade beta@+1",
        "downgrade alpha@-1",
        "upgrade heads",  # through the merge
        "downgrade bbbb00000001",  # undoes the merge and alpha two, beta stays
        "upgrade alpha@head",
        "downgrade -1",
        "downgrade aaaa00000002",
        "upgrade cccc00000001+1",
        "downgrade beta@base",
        "upgrade head",
        "downgrade base",
    ]),
    "two_heads_without_merge": ("forked", [
        "upgrade heads",
        "upgrade head",  # several heads: refused by both
        "stamp aaaa00000002",
        "stamp heads",
        "downgrade alpha@-1",
        "downgrade alpha@base",
        "upgrade alpha@head",
        "upgrade beta@+1",
        "downgrade bbbb00000002-2",
        "downgrade base",
        "upgrade aaaa00000001+1",
        "upgrade beta@head",
        "stamp base",
    ]),
    "bundled_history_with_branches_on_3b96e7fb9cbd": ("bundled", [
        "upgrade 3b96e7fb9cbd",
        "upgrade notes@head",  # through the merge, lookup included
        "upgrade heads",  # the main line's two revisions too
        "downgrade notes@-1",  # from the merge: ambiguous for both
        "downgrade eeee00000001",
        "upgrade lookup@+1",
        "stamp ffff00000001",
        "stamp 9999aaaa0001",
        "downgrade b51d1daaff02",
        "upgrade heads",
    ]),
}

RUNNING = re.compile(r"Running (upgrade|downgrade) (.*) -> (.*), (.*?)(?: \(\d+\.\d ms\))?$")


def normalised_step(match):
    """Alembic writes a base as an empty side; pangeo-forge as "base"."""
    verb, left, right, message = match.groups()
    left, right = ("" if side == "base" else side for side in (left, right))
    return f"{verb} {left} -> {right}, {message}"


class Backend:
    def __init__(self, kind, workdir):
        self.kind = kind
        self.workdir = workdir
        self.server = os.environ.get("PANGEO_FORGE_TEST_POSTGRES_URL", "")
        if kind == "postgresql" and not self.server:
            sys.exit("PANGEO_FORGE_TEST_POSTGRES_URL is not set: no PostgreSQL server to compare on")
        self.schemas = []

    def new_database(self, name):
        """A URL both tools read, naming an empty database."""
        if self.kind == "sqlite":
            return "sqlite:///" + os.path.join(self.workdir, name + ".db")
        schema = f"parity_{name}_{uuid.uuid4().hex[:8]}"
        engine = sqlalchemy.create_engine(self.server)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
        self.schemas.append(schema)
        separator = "&" if "?" in self.server else "?"
        return self.server + separator + "options=" + urllib.parse.quote(f"-c search_path={schema}")

    def drop_all(self):
        if not self.schemas:
            return
        engine = sqlalchemy.create_engine(self.server)
        with engine.begin() as connection:
            for schema in self.schemas:
                connection.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def state(url):
    """The rows of alembic_version and the application's tables."""
    engine = sqlalchemy.create_engine(url)
    try:
        inspector = sqlalchemy.inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version", "pangeo_forge_migrations", "pangeo_forge_migration_steps"}
        versions = []
        if "alembic_version" in inspector.get_table_names():
            with engine.connect() as connection:
                versions = sorted(row[0] for row in connection.execute(sqlalchemy.text(
                    "SELECT version_num FROM alembic_version")))
        return versions, sorted(tables)
    finally:
        engine.dispose()


class StepLines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        match = RUNNING.match(record.getMessage())
        if match:
            self.lines.append(normalised_step(match))


def run_alembic(tree, url, line):
    verb, target = line.split()
    config = Config()
    config.set_main_option("script_location", tree)
    os.environ["DATABASE_URL"] = url
    handler = StepLines()
    logger = logging.getLogger("alembic.runtime.migration")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        getattr(alembic_command, verb)(config, target)
        return True, handler.lines, ""
    except Exception as error:  # Alembic's CommandError or the driver's error
        return False, handler.lines, f"{type(error).__name__}: {error}".splitlines()[0]
    finally:
        logger.removeHandler(handler)


def run_ours(program, tree, url, line):
    verb, target = line.split()
    done = subprocess.run([program, "db", "--url", url, "--migrations", tree, verb, target],
                          capture_output=True, text=True, timeout=120)
    lines = [normalised_step(m) for m in map(RUNNING.match, done.stdout.splitlines()) if m]
    return done.returncode == 0, lines, done.stderr.strip()


def prepare_trees(workdir):
    """Each tree in a folder of its own, as pangeo-forge and as Alembic read it."""
    trees = {}
    for name, (json_folders, environment, alembic_folders, left_out) in TREES.items():
        root = os.path.join(workdir, name)
        ours, alembic = os.path.join(root, "json"), os.path.join(root, "alembic")
        os.makedirs(os.path.join(alembic, "versions"))
        shutil.copy(os.path.join(environment, "env.py"), alembic)
        for sources, target, suffix in ((json_folders, ours, ".json"),
                                        (alembic_folders, os.path.join(alembic, "versions"), ".py")):
            os.makedirs(target, exist_ok=True)
            for folder in sources:
                for file in os.listdir(folder):
                    if file.endswith(suffix) and not (left_out and file.startswith(left_out)):
                        shutil.copy(os.path.join(folder, file), target)
        trees[name] = (ours, alembic)
    return trees


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pangeo-forge", required=True)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    arguments = parser.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="pangeo_forge_parity_") as workdir:
        backend = Backend(arguments.backend, workdir)
        trees = prepare_trees(workdir)
        try:
            for name, (tree, lines) in SCENARIOS.items():
                ours_tree, alembic_tree = trees[tree]
                ours_url = backend.new_database(name + "_ours")
                alembic_url = backend.new_database(name + "_alembic")
                for line in lines:
                    a_ok, a_steps, a_error = run_alembic(alembic_tree, alembic_url, line)
                    o_ok, o_steps, o_error = run_ours(arguments.pangeo_forge, ours_tree, ours_url, line)
                    a_state, o_state = state(alembic_url), state(ours_url)
                    # The steps as a set: where two branches are independent, the tools may
                    # take them in either order.
                    same = a_ok == o_ok and a_state == o_state and (not a_ok or sorted(a_steps) == sorted(o_steps))
                    print(f"{'ok  ' if same else 'DIFF'} {name}: {line}: versions {o_state[0]}"
                          + ("" if o_ok else f" (refused: {o_error})"))
                    if not same:
                        failures.append(f"{name}: `{line}`\n"
                                        f"  Alembic:     ok={a_ok} state={a_state} steps={a_steps} {a_error}\n"
                                        f"  pangeo-forge: ok={o_ok} state={o_state} steps={o_steps} {o_error}")
        finally:
            backend.drop_all()
    for failure in failures:
        print(failure, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
