-- pangeo_forge migration script, sqlite: upgrade base -> a453b710a63a

PRAGMA foreign_keys = OFF;

PRAGMA busy_timeout = 2000;

CREATE TABLE IF NOT EXISTS "alembic_version" (
    "version_num" VARCHAR(32) NOT NULL,
    CONSTRAINT "alembic_version_pkc" PRIMARY KEY ("version_num")
);

CREATE TABLE IF NOT EXISTS "pangeo_forge_migrations" (
    "revision" VARCHAR(32) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "applied_at" VARCHAR(32) NOT NULL,
    "duration_ms" FLOAT NOT NULL,
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

-- Running upgrade base -> 81c7d27bde71, initial migration

BEGIN;

CREATE TABLE "reciperun" (
    "recipe_id" VARCHAR NOT NULL,
    "bakery_id" INTEGER NOT NULL,
    "feedstock_id" INTEGER NOT NULL,
    "head_sha" VARCHAR NOT NULL,
    "version" VARCHAR NOT NULL,
    "started_at" DATETIME NOT NULL,
    "completed_at" DATETIME,
    "conclusion" VARCHAR,
    "status" VARCHAR,
    "message" VARCHAR,
    "id" INTEGER NOT NULL,
    CONSTRAINT "reciperun_pkey" PRIMARY KEY ("id")
);

INSERT INTO "alembic_version" (version_num) VALUES ('81c7d27bde71');

DELETE FROM "pangeo_forge_migrations" WHERE revision = '81c7d27bde71';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('81c7d27bde71', 'c1b057c164d22e280ba394a0671faec6b52bce0d49936cc8aeb9658afcb197b6', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

-- Running upgrade 81c7d27bde71 -> 6197f9c7aff6, add bakery and feedstock

BEGIN;

CREATE TABLE "bakery" (
    "region" VARCHAR NOT NULL,
    "name" VARCHAR NOT NULL,
    "description" VARCHAR NOT NULL,
    "id" INTEGER NOT NULL,
    CONSTRAINT "bakery_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "feedstock" (
    "spec" VARCHAR NOT NULL,
    "provider" VARCHAR NOT NULL,
    "id" INTEGER NOT NULL,
    CONSTRAINT "feedstock_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "_pangeo_forge_new_reciperun" (
    "recipe_id" VARCHAR NOT NULL,
    "bakery_id" INTEGER NOT NULL,
    "feedstock_id" INTEGER NOT NULL,
    "head_sha" VARCHAR NOT NULL,
    "version" VARCHAR NOT NULL,
    "started_at" DATETIME NOT NULL,
    "completed_at" DATETIME,
    "conclusion" VARCHAR,
    "status" VARCHAR,
    "message" VARCHAR,
    "id" INTEGER NOT NULL,
    CONSTRAINT "reciperun_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "reciperun_bakery_id_fkey" FOREIGN KEY ("bakery_id") REFERENCES "bakery" ("id"),
    CONSTRAINT "reciperun_feedstock_id_fkey" FOREIGN KEY ("feedstock_id") REFERENCES "feedstock" ("id")
);

INSERT INTO "_pangeo_forge_new_reciperun" ("recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at", "completed_at", "conclusion", "status", "message", "id") SELECT "recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at", "completed_at", "conclusion", "status", "message", "id" FROM "reciperun";

DROP TABLE "reciperun";

ALTER TABLE "_pangeo_forge_new_reciperun" RENAME TO "reciperun";

UPDATE "alembic_version" SET version_num = '6197f9c7aff6' WHERE version_num = '81c7d27bde71';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '6197f9c7aff6';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('6197f9c7aff6', '2d7edee293cddee48fb9de0d1e294d30b2e12202259d735c4516cd94b80b9a7e', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

-- Running upgrade 6197f9c7aff6 -> b0ec74f6d899, add api keys

BEGIN;

CREATE TABLE "apikey" (
    "is_active" BOOLEAN,
    "is_admin" BOOLEAN,
    "created_at" DATETIME,
    "encrypted_key" VARCHAR NOT NULL,
    CONSTRAINT "apikey_pkey" PRIMARY KEY ("encrypted_key")
);

UPDATE "alembic_version" SET version_num = 'b0ec74f6d899' WHERE version_num = '6197f9c7aff6';

DELETE FROM "pangeo_forge_migrations" WHERE revision = 'b0ec74f6d899';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('b0ec74f6d899', '4beb44888f5ba9f1d225f931f2133750f62ac6021ad8b548ac61ab81cdf9efb0', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

-- Running upgrade b0ec74f6d899 -> 70bcddc9fffa, add dataset fields

BEGIN;

CREATE TABLE "_pangeo_forge_new_reciperun" (
    "recipe_id" VARCHAR NOT NULL,
    "bakery_id" INTEGER NOT NULL,
    "feedstock_id" INTEGER NOT NULL,
    "head_sha" VARCHAR NOT NULL,
    "version" VARCHAR NOT NULL,
    "started_at" DATETIME NOT NULL,
    "completed_at" DATETIME,
    "conclusion" VARCHAR,
    "status" VARCHAR,
    "message" VARCHAR,
    "id" INTEGER NOT NULL,
    "is_test" BOOLEAN NOT NULL,
    CONSTRAINT "reciperun_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "reciperun_bakery_id_fkey" FOREIGN KEY ("bakery_id") REFERENCES "bakery" ("id"),
    CONSTRAINT "reciperun_feedstock_id_fkey" FOREIGN KEY ("feedstock_id") REFERENCES "feedstock" ("id")
);

INSERT INTO "_pangeo_forge_new_reciperun" ("recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at", "completed_at", "conclusion", "status", "message", "id", "is_test") SELECT "recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at", "completed_at", "conclusion", "status", "message", "id", 0 FROM "reciperun";

DROP TABLE "reciperun";

ALTER TABLE "_pangeo_forge_new_reciperun" RENAME TO "reciperun";

ALTER TABLE "reciperun" ADD COLUMN "dataset_type" VARCHAR;

ALTER TABLE "reciperun" ADD COLUMN "dataset_public_url" VARCHAR;

UPDATE "alembic_version" SET version_num = '70bcddc9fffa' WHERE version_num = 'b0ec74f6d899';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '70bcddc9fffa';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('70bcddc9fffa', '46a81afb47188fedcee77fedb40a2b99ffa4987f197e87483fddea338e9b1b7a', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

-- Running upgrade 70bcddc9fffa -> 0499cef6b57a, remove api keys

BEGIN;

DROP TABLE "apikey";

CREATE TABLE "_pangeo_forge_new_reciperun" (
    "recipe_id" VARCHAR NOT NULL,
    "bakery_id" INTEGER NOT NULL,
    "feedstock_id" INTEGER NOT NULL,
    "head_sha" VARCHAR NOT NULL,
    "version" VARCHAR NOT NULL,
    "started_at" DATETIME NOT NULL,
    "completed_at" DATETIME,
    "conclusion" VARCHAR,
    "status" VARCHAR NOT NULL,
    "message" VARCHAR,
    "id" INTEGER NOT NULL,
    "is_test" BOOLEAN NOT NULL,
    "dataset_type" VARCHAR,
    "dataset_public_url" VARCHAR,
    CONSTRAINT "reciperun_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "reciperun_bakery_id_fkey" FOREIGN KEY ("bakery_id") REFERENCES "bakery" ("id"),
    CONSTRAINT "reciperun_feedstock_id_fkey" FOREIGN KEY ("feedstock_id") REFERENCES "feedstock" ("id")
);

INSERT INTO "_pangeo_forge_new_reciperun" ("recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at", "completed_at", "conclusion", "status", "message", "id", "is_test", "dataset_type", "dataset_public_url") SELECT "recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at", "completed_at", "conclusion", "status", "message", "id", "is_test", "dataset_type", "dataset_public_url" FROM "reciperun";

DROP TABLE "reciperun";

ALTER TABLE "_pangeo_forge_new_reciperun" RENAME TO "reciperun";

UPDATE "alembic_version" SET version_num = '0499cef6b57a' WHERE version_num = '70bcddc9fffa';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '0499cef6b57a';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('0499cef6b57a', '4eb19a371663ec6c84a99fdb8b9ac2a8a7ec0493599f8fa29a3448a5cb623c32', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

-- Running upgrade 0499cef6b57a -> 3b96e7fb9cbd, bakery names unique

BEGIN;

CREATE TABLE "_pangeo_forge_new_bakery" (
    "region" VARCHAR NOT NULL,
    "name" VARCHAR NOT NULL,
    "description" VARCHAR NOT NULL,
    "id" INTEGER NOT NULL,
    CONSTRAINT "bakery_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "bakery_name_key" UNIQUE ("name")
);

INSERT INTO "_pangeo_forge_new_bakery" ("region", "name", "description", "id") SELECT "region", "name", "description", "id" FROM "bakery";

DROP TABLE "bakery";

ALTER TABLE "_pangeo_forge_new_bakery" RENAME TO "bakery";

UPDATE "alembic_version" SET version_num = '3b96e7fb9cbd' WHERE version_num = '0499cef6b57a';

DELETE FROM "pangeo_forge_migrations" WHERE revision = '3b96e7fb9cbd';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('3b96e7fb9cbd', 'a43b17aa223b2b2c5ea68e44908d944dda12ac24b4d544dc34d9f81ce4cefd0a', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

-- Running upgrade 3b96e7fb9cbd -> b51d1daaff02, add dispatch

BEGIN;

CREATE TABLE "dispatch" (
    "id" INTEGER NOT NULL,
    "recipe_run_id" INTEGER NOT NULL,
    "worker" VARCHAR NOT NULL,
    "attempt" INTEGER NOT NULL,
    "claim_token" VARCHAR,
    "lease_expiries" INTEGER NOT NULL,
    "lease_expires_at" DATETIME,
    "job_name" VARCHAR,
    "job_id" VARCHAR,
    "job_deadline" DATETIME,
    CONSTRAINT "dispatch_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "dispatch_recipe_run_id_key" UNIQUE ("recipe_run_id"),
    CONSTRAINT "dispatch_claim_token_key" UNIQUE ("claim_token"),
    CONSTRAINT "dispatch_recipe_run_id_fkey" FOREIGN KEY ("recipe_run_id") REFERENCES "reciperun" ("id")
);

CREATE INDEX "ix_reciperun_bakery_id_status_started_at_id" ON "reciperun" ("bakery_id", "status", "started_at", "id");

UPDATE "alembic_version" SET version_num = 'b51d1daaff02' WHERE version_num = '3b96e7fb9cbd';

DELETE FROM "pangeo_forge_migrations" WHERE revision = 'b51d1daaff02';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('b51d1daaff02', 'a2d0890cfe321742ac7036e048ccfdf0fd4b9fee36b68131f79451de5b1b86d2', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

-- Running upgrade b51d1daaff02 -> a453b710a63a, add github app records

BEGIN;

CREATE TABLE "github_delivery" (
    "id" INTEGER NOT NULL,
    "delivery_id" VARCHAR NOT NULL,
    "event" VARCHAR NOT NULL,
    "action" VARCHAR NOT NULL,
    "received_at" DATETIME NOT NULL,
    "outcome" VARCHAR NOT NULL,
    "detail" VARCHAR,
    "payload" VARCHAR,
    "attempts" INTEGER NOT NULL,
    CONSTRAINT "github_delivery_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "github_delivery_delivery_id_key" UNIQUE ("delivery_id")
);

CREATE TABLE "github_report" (
    "id" INTEGER NOT NULL,
    "recipe_run_id" INTEGER NOT NULL,
    "repository" VARCHAR NOT NULL,
    "pull_request" INTEGER,
    "deployment_id" BIGINT,
    "reported_at" DATETIME,
    "attempts" INTEGER NOT NULL,
    "last_error" VARCHAR,
    CONSTRAINT "github_report_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "github_report_recipe_run_id_key" UNIQUE ("recipe_run_id"),
    CONSTRAINT "github_report_recipe_run_id_fkey" FOREIGN KEY ("recipe_run_id") REFERENCES "reciperun" ("id")
);

UPDATE "alembic_version" SET version_num = 'a453b710a63a' WHERE version_num = 'b51d1daaff02';

DELETE FROM "pangeo_forge_migrations" WHERE revision = 'a453b710a63a';

INSERT INTO "pangeo_forge_migrations" (revision, checksum, applied_at, duration_ms) VALUES ('a453b710a63a', '045a7cb1106ab6d405303c51e07f50c1ecbeab60dc6c8aa143bce0d41f951e12', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);

COMMIT;

PRAGMA foreign_keys = ON;
