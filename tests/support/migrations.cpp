#include "support/migrations.hpp"

#include <fstream>

#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/migrate/revision.hpp"

namespace pangeo_forge::test {

migrate::RevisionGraph bundled() { return migrate::RevisionGraph::load(migrate::bundled_migrations()); }

bool upgraded_to_head(db::Database& database) {
    migrate::Migrator(database, bundled()).upgrade("head");
    return true;
}

MigrationsCopy::MigrationsCopy() : MigrationsCopy(migrate::bundled_migrations() / "versions") {}

MigrationsCopy::MigrationsCopy(const std::filesystem::path& from)
    : folder_(std::filesystem::temp_directory_path() / ("pangeo_forge_migrations_" + migrate::new_revision_id())) {
    std::filesystem::create_directories(folder_);
    for (const auto& entry : std::filesystem::directory_iterator(from)) {
        std::filesystem::copy_file(entry.path(), folder_ / entry.path().filename());
    }
}

MigrationsCopy::~MigrationsCopy() {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
}

void MigrationsCopy::write(const std::string& name, const std::string& text) const {
    std::ofstream(folder_ / name) << text;
}

migrate::RevisionGraph MigrationsCopy::graph() const { return migrate::RevisionGraph::load(folder_); }

}  // namespace pangeo_forge::test
