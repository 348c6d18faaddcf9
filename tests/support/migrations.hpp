#pragma once
// The bundled migrations, for tests that need a database at head.

#include <filesystem>
#include <string>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/graph.hpp"

namespace pangeo_forge::test {

migrate::RevisionGraph bundled();

// Upgrades the database to the bundled head; returns true, to sit in a member initializer list.
bool upgraded_to_head(db::Database& database);

// A folder of revision files of the test's own, removed with it: a copy of `from` (the
// bundled revisions unless given), to plant revisions in.
class MigrationsCopy {
public:
    MigrationsCopy();
    explicit MigrationsCopy(const std::filesystem::path& from);
    ~MigrationsCopy();
    MigrationsCopy(const MigrationsCopy&) = delete;
    MigrationsCopy& operator=(const MigrationsCopy&) = delete;

    void write(const std::string& name, const std::string& text) const;
    migrate::RevisionGraph graph() const;
    const std::filesystem::path& folder() const { return folder_; }

private:
    std::filesystem::path folder_;
};

}  // namespace pangeo_forge::test
