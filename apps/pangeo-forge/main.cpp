// pangeo-forge: the operator's command. Every verb is a call into the library.

#include <iostream>

#include <CLI/CLI.hpp>

#include "pangeo_forge/pangeo_forge.hpp"

namespace {

using namespace pangeo_forge;

constexpr const char* default_database_url = "sqlite:///pangeo_forge.db";

void print_schema(bool as_json) {
    auto declared = model::schema();
    if (as_json) {
        std::cout << nlohmann::json(declared).dump(2) << "\n";
    } else {
        std::cout << schema::describe(declared);
    }
}

void print_database_info(const std::string& url_text) {
    db::Database database(url_text, db::PoolOptions{1});
    auto connection = database.acquire();
    std::cout << "url:     " << db::redacted(database.url()) << "\n"
              << "backend: " << db::to_string(database.backend()) << "\n"
              << "server:  " << connection->server_version() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"pangeo-forge: the orchestration core of Pangeo Forge"};
    app.set_version_flag("--version", std::string(version()));
    app.require_subcommand(1);

    bool as_json = false;
    auto* schema_command = app.add_subcommand("schema", "Print the declared tables (the schema at head)");
    schema_command->add_flag("--json", as_json, "Print the schema as JSON");

    std::string url = db::database_url_from_environment(default_database_url);
    auto* db_command = app.add_subcommand("db", "Work on the database at --url or DATABASE_URL");
    db_command->add_option("--url", url, "Database URL (default: DATABASE_URL, else " +
                                             std::string(default_database_url) + ")");
    db_command->require_subcommand(1);
    auto* info_command = db_command->add_subcommand("info", "Connect and print the backend and server version");

    CLI11_PARSE(app, argc, argv);
    try {
        if (schema_command->parsed()) print_schema(as_json);
        if (info_command->parsed()) print_database_info(url);
        return 0;
    } catch (const Error& error) {
        std::cerr << "error: " << error.what() << "\n";
        return 1;
    }
}
