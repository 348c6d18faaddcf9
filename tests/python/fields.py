"""Request bodies the tests share, as the Python service's own tests write them."""

API_KEY = "s3cret-key"

BAKERY = {"region": "us-central1", "name": "pangeo-ldeo-nsf-earthcube", "description": "great"}

FEEDSTOCK = {"spec": "pangeo-forge/noaa-oisst-avhrr-only-feedstock"}


def run_fields(bakery_id=1, feedstock_id=1, **changes):
    """A recipe run's create fields; `changes` added or replaced."""
    fields = {"recipe_id": "noaa-oisst-avhrr-only", "bakery_id": bakery_id, "feedstock_id": feedstock_id,
              "head_sha": "035ee3e8", "version": "1.0", "started_at": "2021-01-01T00:00:00Z"}
    fields.update(changes)
    return fields
