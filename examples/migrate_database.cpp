// The bundled migration example: opens the database at DATABASE_URL (default: the SQLite
// file pangeo_forge.db in the current folder), shows where it stands, upgrades it to the
// head of the bundled migrations, and prints the history. Copy it as the start of a
// program that keeps its own database up to date.

#include <iostream>

#include <pangeo_forge/migrate/commands.hpp>
#include <pangeo_forge/migrate/migrator.hpp>
#include <pangeo_forge/pangeo_forge.hpp>

int main() {
    using namespace pangeo_forge;
    try {
        db::Database database(db::database_url_from_environment("sqlite:///pangeo_forge.db"));
        migrate::Migrator migrator(database, migrate::RevisionGraph::load(migrate::bundled_migrations()));
        std::cout << "database: " << db::redacted(database.url()) << "\n";

        auto before = migrator.current();
        std::cout << "at:       " << (before.empty() ? "no revision yet (an empty database)" : before.front()) << "\n\n";

        auto steps = migrator.upgrade("head", [](const migrate::StepReport& step) {
            std::cout << "  " << migrate::describe(step) << "\n";
        });
        if (steps.empty()) std::cout << "  already at head: nothing to do\n";

        std::cout << "\nnow at:   " << migrator.current().front() << " (head)\n\nhistory:\n";
        for (const auto& line : migrate::history(migrator.graph(), "", migrator.current())) {
            std::cout << "  " << line << "\n";
        }
        return 0;
    } catch (const Error& error) {
        std::cerr << "error: " << error.what() << "\n";
        return 1;
    }
}
