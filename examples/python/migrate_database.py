"""The bundled migration example, in Python: opens the database at DATABASE_URL (default:
the SQLite file pangeo_forge.db in the current folder), shows where it stands, upgrades
it to the head of the bundled migrations, and prints the history. Copy it as the start of
a release step that keeps a deployment's database up to date.

    python examples/python/migrate_database.py
"""

import sys

import pangeo_forge as pf


def main() -> int:
    try:
        database = pf.Database()  # DATABASE_URL, else pf.DEFAULT_DATABASE_URL
        migrations = pf.Migrations(database)
        print(f"database: {database.url}")
        before = migrations.current()
        print(f"at:       {before[0] if before else 'no revision yet (an empty database)'}\n")

        steps = migrations.upgrade("head", progress=lambda step: print(f"  {step}"))
        if not steps:
            print("  already at head: nothing to do")

        print(f"\nnow at:   {migrations.current()[0]} (head)\n\nhistory:")
        for revision in migrations.history():
            parent = ", ".join(revision.down_revisions) or "<base>"
            print(f"  {parent} -> {revision.id}, {revision.message}")
        return 0
    except pf.Error as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
