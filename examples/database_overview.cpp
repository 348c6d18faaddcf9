// Opens the database at DATABASE_URL (default: pangeo_forge.db in the current folder),
// says what it is, and prints the tables pangeo_forge declares at the head of its
// migration history. Copy it as the start of a program that embeds pangeo_forge.

#include <iostream>

#include <pangeo_forge/pangeo_forge.hpp>

int main() {
    using namespace pangeo_forge;
    try {
        db::Database database(db::database_url_from_environment("sqlite:///pangeo_forge.db"));
        auto connection = database.acquire();
        std::cout << "pangeo_forge " << version() << "\n"
                  << "database: " << db::redacted(database.url()) << " (" << connection->server_version() << ")\n\n"
                  << "declared tables at head:\n"
                  << schema::describe(model::schema());
        return 0;
    } catch (const Error& error) {
        std::cerr << "error: " << error.what() << "\n";
        return 1;
    }
}
