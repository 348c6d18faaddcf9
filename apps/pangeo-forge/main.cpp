// pangeo-forge: the operator's command. Every verb is a call into the library; this file
// only parses arguments and prints what the library returns.

#include <iostream>

#include <CLI/CLI.hpp>

#include "pangeo_forge/migrate/commands.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/pangeo_forge.hpp"

namespace {

using namespace pangeo_forge;

constexpr const char* default_database_url = "sqlite:///pangeo_forge.db";

void print_lines(const std::vector<std::string>& lines) {
    for (const auto& line : lines) std::cout << line << "\n";
}

// What every `db` verb shares: where the database and the migrations are.
struct DbOptions {
    std::string url = db::database_url_from_environment(default_database_url);
    std::string migrations;

    migrate::RevisionGraph graph() const {
        return migrate::RevisionGraph::load(migrations.empty() ? migrate::bundled_migrations()
                                                               : std::filesystem::path(migrations));
    }
};

// Runs `verb` with a database and a migrator, printing the library's warnings first.
template <class Verb>
void with_migrator(const DbOptions& options, Verb verb) {
    db::Database database(options.url, db::PoolOptions{1});
    migrate::Migrator migrator(database, options.graph());
    for (const auto& warning : migrator.changed_files()) std::cerr << "warning: " << warning << "\n";
    verb(migrator);
}

void print_step(const migrate::StepReport& step) { std::cout << describe(step) << std::endl; }

// "A:B" for offline mode; a bare target means from the base.
std::pair<std::string, std::string> offline_range(const std::string& target, const std::string& default_from) {
    auto colon = target.find(':');
    if (colon == std::string::npos) return {default_from, target};
    return {target.substr(0, colon).empty() ? default_from : target.substr(0, colon), target.substr(colon + 1)};
}

db::Dialect dialect_named(const std::string& name) {
    if (name == "sqlite") return db::Dialect(db::Backend::sqlite);
    if (name == "postgresql") return db::Dialect(db::Backend::postgresql);
    throw ConfigError("--dialect must be sqlite or postgresql, not '" + name + "'");
}

void add_db_commands(CLI::App& app, DbOptions& options) {
    auto* db_command = app.add_subcommand("db", "Migrate and inspect the database at --url or DATABASE_URL");
    db_command->add_option("--url", options.url,
                           std::string("Database URL (default: DATABASE_URL, else ") + default_database_url + ")");
    db_command->add_option("--migrations", options.migrations,
                           "Folder of revision files (default: the bundled migrations)");
    db_command->fallthrough();
    db_command->require_subcommand(1);

    auto* info = db_command->add_subcommand("info", "Connect and print the backend and server version");
    info->callback([&] {
        db::Database database(options.url, db::PoolOptions{1});
        std::cout << "url:     " << db::redacted(database.url()) << "\n"
                  << "backend: " << db::to_string(database.backend()) << "\n"
                  << "server:  " << database.acquire()->server_version() << "\n";
    });

    // upgrade and downgrade share their shape: a target, and offline mode.
    for (bool up : {true, false}) {
        auto* verb = db_command->add_subcommand(up ? "upgrade" : "downgrade",
                                                up ? "Apply revisions up to TARGET (head, heads, +N, REV, label@head)"
                                                   : "Undo revisions down to TARGET (base, -N, REV)");
        auto target = std::make_shared<std::string>();
        auto sql = std::make_shared<bool>(false);
        auto dialect = std::make_shared<std::string>("sqlite");
        verb->add_option("target", *target, "Where to go; with --sql, FROM:TO")->required();
        verb->add_flag("--sql", *sql, "Print the SQL script instead of running it (offline mode)");
        verb->add_option("--dialect", *dialect, "Dialect of the --sql script: sqlite or postgresql");
        verb->callback([&options, up, target, sql, dialect] {
            if (*sql) {
                auto graph = options.graph();
                auto [from, to] = offline_range(*target, up ? "base" : "heads");
                std::cout << (up ? migrate::offline_upgrade_sql(graph, from, to, dialect_named(*dialect))
                                 : migrate::offline_downgrade_sql(graph, from, to, dialect_named(*dialect)));
                return;
            }
            with_migrator(options, [&](migrate::Migrator& migrator) {
                auto steps = up ? migrator.upgrade(*target, print_step) : migrator.downgrade(*target, print_step);
                if (steps.empty()) {
                    auto heads = migrator.current();
                    std::cout << "Nothing to do: the database is at "
                              << (heads.empty() ? std::string("base") : heads.front()) << "\n";
                }
            });
        });
    }

    auto* stamp = db_command->add_subcommand("stamp", "Set the version table to TARGET without migrating");
    auto stamp_target = std::make_shared<std::string>();
    auto purge = std::make_shared<bool>(false);
    stamp->add_option("target", *stamp_target, "Revision(s) to record")->required();
    stamp->add_flag("--purge", *purge, "Clear the version table first, whatever it holds");
    stamp->callback([&options, stamp_target, purge] {
        with_migrator(options, [&](migrate::Migrator& migrator) {
            migrator.stamp(*stamp_target, *purge);
            print_lines(migrate::current_lines(migrator.graph(), migrator.current()));
        });
    });

    auto* current = db_command->add_subcommand("current", "Print the revision(s) the database is at");
    current->callback([&options] {
        with_migrator(options, [](migrate::Migrator& migrator) {
            auto heads = migrator.current();
            if (heads.empty()) std::cout << "(no revision: the database was never migrated)\n";
            print_lines(migrate::current_lines(migrator.graph(), heads));
        });
    });

    auto* history = db_command->add_subcommand("history", "List the revisions, newest first");
    auto range = std::make_shared<std::string>();
    auto verbose = std::make_shared<bool>(false);
    history->add_option("-r,--rev-range", *range, "START:END, e.g. base:head, 6197f9:current");
    history->add_flag("-v,--verbose", *verbose, "Show each revision in full");
    history->callback([&options, range, verbose] {
        auto graph = options.graph();
        std::vector<std::string> current;
        if (range->find("current") != std::string::npos) {
            db::Database database(options.url, db::PoolOptions{1});
            current = migrate::Migrator(database, graph).current();
        }
        print_lines(migrate::history(graph, *range, current, *verbose));
    });

    auto* heads = db_command->add_subcommand("heads", "List the heads of the migrations");
    auto heads_verbose = std::make_shared<bool>(false);
    heads->add_flag("-v,--verbose", *heads_verbose, "Add each head's message");
    heads->callback([&options, heads_verbose] { print_lines(migrate::heads(options.graph(), *heads_verbose)); });

    auto* branches = db_command->add_subcommand("branches", "List the branch points");
    branches->callback([&options] { print_lines(migrate::branches(options.graph())); });

    auto* show = db_command->add_subcommand("show", "Show one revision and its operations");
    auto show_revision = std::make_shared<std::string>();
    show->add_option("revision", *show_revision, "Id, unique prefix or branch label")->required();
    show->callback([&options, show_revision] { print_lines(migrate::show(options.graph(), *show_revision)); });

    auto* merge = db_command->add_subcommand("merge", "Write a revision that joins several heads");
    auto merge_message = std::make_shared<std::string>();
    auto merge_revisions = std::make_shared<std::vector<std::string>>();
    merge->add_option("-m,--message", *merge_message, "What the merge is for")->required();
    merge->add_option("revisions", *merge_revisions, "The revisions to join, or 'heads'")->required();
    merge->callback([&options, merge_message, merge_revisions] {
        auto revision = migrate::create_merge(options.graph(), *merge_revisions, *merge_message);
        std::cout << "Generating " << revision.path.string() << "\n";
    });

    auto* revision = db_command->add_subcommand("revision", "Write a new, empty revision on top of the head");
    auto revision_message = std::make_shared<std::string>();
    revision->add_option("-m,--message", *revision_message, "What the revision does")->required();
    revision->callback([&options, revision_message] {
        auto written = migrate::create_revision(options.graph(), *revision_message);
        std::cout << "Generating " << written.path.string() << "\n";
    });
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"pangeo-forge: the orchestration core of Pangeo Forge"};
    app.set_version_flag("--version", std::string(version()));
    app.require_subcommand(1);

    bool as_json = false;
    auto* schema_command = app.add_subcommand("schema", "Print the declared tables (the schema at head)");
    schema_command->add_flag("--json", as_json, "Print the schema as JSON");
    schema_command->callback([&] {
        auto declared = model::schema();
        std::cout << (as_json ? nlohmann::json(declared).dump(2) + "\n" : schema::describe(declared));
    });

    DbOptions db_options;
    add_db_commands(app, db_options);

    try {
        app.parse(argc, argv);
        return 0;
    } catch (const CLI::ParseError& error) {
        return app.exit(error);
    } catch (const Error& error) {
        std::cerr << "error: " << error.what() << "\n";
        return 1;
    }
}
