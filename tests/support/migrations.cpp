#include "support/migrations.hpp"

#include "pangeo_forge/migrate/migrator.hpp"

namespace pangeo_forge::test {

migrate::RevisionGraph bundled() { return migrate::RevisionGraph::load(migrate::bundled_migrations()); }

bool upgraded_to_head(db::Database& database) {
    migrate::Migrator(database, bundled()).upgrade("head");
    return true;
}

}  // namespace pangeo_forge::test
