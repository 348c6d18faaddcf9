"""python -m pangeo_forge: the pangeo-forge command's verbs (schema, db, api, serve).

    python -m pangeo_forge db upgrade head      # replaces `python -m alembic upgrade head`
    python -m pangeo_forge api GET /bakeries/
"""

import sys

from ._core import main


def run() -> int:
    return main(["python -m pangeo_forge", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(run())
