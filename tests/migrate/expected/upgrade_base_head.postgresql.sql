-- pangeo_forge migration script, postgresql: upgrade base -> 3b96e7fb9cbd

CREATE TABLE IF NOT EXISTS "alembic_version" (
    "version_num" VARCHAR(32) NOT NULL,
    CONSTRAINT "alembic_version_pkc" PRIMARY KEY ("version_num")
);

-- Running upgrade base -> 81c7d27bde71, initial migration

BEGIN;

CREATE TABLE "reciperun" (
    "recipe_id" VARCHAR NOT NULL,
    "bakery_id" INTEGER NOT NULL,
    "feedstock_id" INTEGER NOT NULL,
    "head_sha" VARCHAR NOT NULL,
    "version" VARCHAR NOT NULL,
    "started_at" TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    "completed_at" TIMESTAMP WITHOUT TIME ZONE,
    "conclusion" VARCHAR,
    "status" VARCHAR,
    "message" VARCHAR,
    "id" SERIAL NOT NULL,
    CONSTRAINT "reciperun_pkey" PRIMARY KEY ("id")
);

INSERT INTO "alembic_version" (version_num) VALUES ('81c7d27bde71');

COMMIT;

-- Running upgrade 81c7d27bde71 -> 6197f9c7aff6, add bakery and feedstock

BEGIN;

CREATE TABLE "bakery" (
    "region" VARCHAR NOT NULL,
    "name" VARCHAR NOT NULL,
    "description" VARCHAR NOT NULL,
    "id" SERIAL NOT NULL,
    CONSTRAINT "bakery_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "feedstock" (
    "spec" VARCHAR NOT NULL,
    "provider" VARCHAR NOT NULL,
    "id" SERIAL NOT NULL,
    CONSTRAINT "feedstock_pkey" PRIMARY KEY ("id")
);

ALTER TABLE "reciperun" ADD CONSTRAINT "reciperun_bakery_id_fkey" FOREIGN KEY ("bakery_id") REFERENCES "bakery" ("id");

ALTER TABLE "reciperun" ADD CONSTRAINT "reciperun_feedstock_id_fkey" FOREIGN KEY ("feedstock_id") REFERENCES "feedstock" ("id");

UPDATE "alembic_version" SET version_num = '6197f9c7aff6' WHERE version_num = '81c7d27bde71';

COMMIT;

-- Running upgrade 6197f9c7aff6 -> b0ec74f6d899, add api keys

BEGIN;

CREATE TABLE "apikey" (
    "is_active" BOOLEAN,
    "is_admin" BOOLEAN,
    "created_at" TIMESTAMP WITHOUT TIME ZONE,
    "encrypted_key" VARCHAR NOT NULL,
    CONSTRAINT "apikey_pkey" PRIMARY KEY ("encrypted_key")
);

UPDATE "alembic_version" SET version_num = 'b0ec74f6d899' WHERE version_num = '6197f9c7aff6';

COMMIT;

-- Running upgrade b0ec74f6d899 -> 70bcddc9fffa, add dataset fields

BEGIN;

ALTER TABLE "reciperun" ADD COLUMN "is_test" BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE "reciperun" ALTER COLUMN "is_test" DROP DEFAULT;

ALTER TABLE "reciperun" ADD COLUMN "dataset_type" VARCHAR;

ALTER TABLE "reciperun" ADD COLUMN "dataset_public_url" VARCHAR;

UPDATE "alembic_version" SET version_num = '70bcddc9fffa' WHERE version_num = 'b0ec74f6d899';

COMMIT;

-- Running upgrade 70bcddc9fffa -> 0499cef6b57a, remove api keys

BEGIN;

DROP TABLE "apikey";

ALTER TABLE "reciperun" ALTER COLUMN "status" SET NOT NULL;

UPDATE "alembic_version" SET version_num = '0499cef6b57a' WHERE version_num = '70bcddc9fffa';

COMMIT;

-- Running upgrade 0499cef6b57a -> 3b96e7fb9cbd, bakery names unique

BEGIN;

ALTER TABLE "bakery" ADD CONSTRAINT "bakery_name_key" UNIQUE ("name");

UPDATE "alembic_version" SET version_num = '3b96e7fb9cbd' WHERE version_num = '0499cef6b57a';

COMMIT;

