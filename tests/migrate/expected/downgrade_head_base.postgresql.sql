-- pangeo_forge migration script, postgresql: downgrade a453b710a63a -> base

SET lock_timeout = '2000ms';

CREATE TABLE IF NOT EXISTS "alembic_version" (
    "version_num" VARCHAR(32) NOT NULL,
    CONSTRAINT "alembic_version_pkc" PRIMARY KEY ("version_num")
);

CREATE TABLE IF NOT EXISTS "pangeo_forge_migrations" (
    "revision" VARCHAR(32) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "applied_at" VARCHAR(32) NOT NULL,
    "duration_ms" DOUBLE PRECISION NOT NULL,
    CONSTRAINT "pangeo_forge_migrations_pkey" PRIMARY KEY ("revision")
);

CREATE TABLE IF NOT EXISTS "pangeo_forge_migration_steps" (
    "revision" VARCHAR(32) NOT NULL,
    "direction" VARCHAR(16) NOT NULL,
    "steps_done" INTEGER NOT NULL,
    "schema_before" TEXT NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    CONSTRAINT "pangeo_forge_migration_steps_pkey" PRIMARY KEY ("revision")
);

-- Running downgrade a453b710a63a -> b51d1daaff02, add github app records

BEGIN;

DROP TABLE "github_report";

DROP TABLE "github_delivery";

UPDATE "alembic_version" SET version_num = 'b51d1daaff02' WHERE version_num = 'a453b710a63a';

DELETE FROM "pangeo_forge_migrations" WHERE revision = 'a453b710a63a';

COMMIT;

-- Running downgrade b51d1daaff02 -> 3b96e7fb9cbd, add dispatch

DROP INDEX CONCURRENTLY IF EXISTS "ix_reciperun_bakery_id_status_started_at_id";

BEGIN;

DROP TABLE "dispatch";

UPDATE "alembic_version" SET version_num = '3b96e7fb9cbd' WHERE version_num = 'b51d1daaff02';

DELETE FROM "pangeo_forge_migrations" WHERE revision = 'b51d1daaff02';

DELETE FROM "pangeo_forge_migration_steps" WHERE revision = 'b51d1daaff02';

COMMIT;

-- Running downgrade 3b96e7fb9cbd -> 0499cef6b57a, bakery names unique

BEGIN;

ALTER TABLE "bakery" DROP CONSTRAINT "bakery_name_key";

UPDATE "alembic_version" SET version_num = '0499cef6b57a' WHERE version_num = '3b96e7fb9cbd';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '3b96e7fb9cbd';

COMMIT;

-- Running downgrade 0499cef6b57a -> 70bcddc9fffa, remove api keys

BEGIN;

ALTER TABLE "reciperun" ALTER COLUMN "status" DROP NOT NULL;

CREATE TABLE "apikey" (
    "is_active" BOOLEAN,
    "is_admin" BOOLEAN,
    "created_at" TIMESTAMP WITHOUT TIME ZONE,
    "encrypted_key" VARCHAR NOT NULL,
    CONSTRAINT "apikey_pkey" PRIMARY KEY ("encrypted_key")
);

UPDATE "alembic_version" SET version_num = '70bcddc9fffa' WHERE version_num = '0499cef6b57a';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '0499cef6b57a';

COMMIT;

-- Running downgrade 70bcddc9fffa -> b0ec74f6d899, add dataset fields

BEGIN;

ALTER TABLE "reciperun" DROP COLUMN "dataset_public_url";

ALTER TABLE "reciperun" DROP COLUMN "dataset_type";

ALTER TABLE "reciperun" DROP COLUMN "is_test";

UPDATE "alembic_version" SET version_num = 'b0ec74f6d899' WHERE version_num = '70bcddc9fffa';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '70bcddc9fffa';

COMMIT;

-- Running downgrade b0ec74f6d899 -> 6197f9c7aff6, add api keys

BEGIN;

DROP TABLE "apikey";

UPDATE "alembic_version" SET version_num = '6197f9c7aff6' WHERE version_num = 'b0ec74f6d899';

DELETE FROM "pangeo_forge_migrations" WHERE revision = 'b0ec74f6d899';

COMMIT;

-- Running downgrade 6197f9c7aff6 -> 81c7d27bde71, add bakery and feedstock

BEGIN;

ALTER TABLE "reciperun" DROP CONSTRAINT "reciperun_bakery_id_fkey";

ALTER TABLE "reciperun" DROP CONSTRAINT "reciperun_feedstock_id_fkey";

DROP TABLE "feedstock";

DROP TABLE "bakery";

UPDATE "alembic_version" SET version_num = '81c7d27bde71' WHERE version_num = '6197f9c7aff6';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '6197f9c7aff6';

COMMIT;

-- Running downgrade 81c7d27bde71 -> base, initial migration

BEGIN;

DROP TABLE "reciperun";

DELETE FROM "alembic_version" WHERE version_num = '81c7d27bde71';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '81c7d27bde71';

COMMIT;

