#define BOOST_TEST_MODULE migrator_processes
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/query.hpp"
#include "support/migrations.hpp"
#include "support/process.hpp"
#include "support/scratch_database.hpp"

extern char** environ;

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using test::query_value;
using Ids = std::vector<std::string>;

using test::bundled;

namespace {

int exit_status(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int count_of(const std::string& text, const std::string& needle) {
    int count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
    return count;
}

std::uintmax_t size_or_zero(const std::filesystem::path& path) {
    std::error_code error;
    auto size = std::filesystem::file_size(path, error);
    return error ? 0 : size;
}

// What a run of the command left: its exit status, and its two streams apart (a --json
// run must write its document alone on stdout).
struct Run {
    int status = -1;
    std::string out;
    std::string err;
};

class Command {
public:
    explicit Command(std::string url)
        : url_(std::move(url)),
          folder_(std::filesystem::temp_directory_path() / ("pangeo_forge_command_line_" + new_revision_id())) {
        std::filesystem::create_directories(folder_);
    }
    ~Command() { std::filesystem::remove_all(folder_); }

    // `pangeo-forge db --url URL args...`
    Run db(const std::vector<std::string>& args) const {
        std::vector<std::string> all{"db", "--url", url_};
        all.insert(all.end(), args.begin(), args.end());
        return run(all);
    }

    Run run(const std::vector<std::string>& args) const {
        const std::string out = (folder_ / "out").string(), err = (folder_ / "err").string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::vector<std::string> all{PANGEO_FORGE_COMMAND};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& arg : all) argv.push_back(arg.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        int error = posix_spawn(&pid, PANGEO_FORGE_COMMAND, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        BOOST_REQUIRE_MESSAGE(error == 0, "cannot start " PANGEO_FORGE_COMMAND);
        Run result;
        result.status = exit_status(pid);
        result.out = test::file_text(out);
        result.err = test::file_text(err);
        return result;
    }

    const std::filesystem::path& folder() const { return folder_; }

private:
    std::string url_;
    std::filesystem::path folder_;
};

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// stdout as one JSON document; fails the test when it is not one.
nlohmann::json document(const Run& run) {
    auto parsed = nlohmann::json::parse(run.out, nullptr, false);
    BOOST_TEST(!parsed.is_discarded(), "not one JSON document:\n" << run.out);
    return parsed;
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(two_concurrent_upgrades_apply_each_revision_once) {
    auto folder = std::filesystem::temp_directory_path() / ("pangeo_forge_concurrent_" + new_revision_id());
    std::filesystem::create_directories(folder);
    std::vector<pid_t> runs;
    for (int i = 0; i < 2; ++i) {
        runs.push_back(test::spawn_program(PANGEO_FORGE_COMMAND, {"db", "--url", database.url(), "upgrade", "head"},
                                     (folder / ("run" + std::to_string(i) + ".log")).string()));
    }
    std::string output;
    for (int i = 0; i < 2; ++i) {
        int status = exit_status(runs[i]);
        std::string log = test::file_text((folder / ("run" + std::to_string(i) + ".log")).string());
        BOOST_TEST(status == 0, "run " << i << " failed:\n" << log);
        output += log;
    }
    std::filesystem::remove_all(folder);
    BOOST_TEST(count_of(output, "Running upgrade") == 8, output);
    for (const char* id : {"81c7d27bde71", "6197f9c7aff6", "b0ec74f6d899", "70bcddc9fffa", "0499cef6b57a", "3b96e7fb9cbd", "b51d1daaff02", "a453b710a63a"}) {
        BOOST_TEST(count_of(output, "-> " + std::string(id) + ",") == 1, id);
    }
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.current() == Ids{"a453b710a63a"});
    BOOST_TEST(migrator.applied().size() == 8u);
}

// SQLite only, by nature: PostgreSQL has no journal mode. `pangeo-forge db upgrade` leaves
// a rollback-journal file (as Alembic makes them) in that mode; ?journal_mode=wal switches it.
BOOST_AUTO_TEST_SUITE(db_upgrade_keeps_the_journal_mode_of_the_file)
BOOST_AUTO_TEST_CASE(sqlite) {
    test::ScratchDatabase database(db::Backend::sqlite);
    db::Database(database.url() + "?journal_mode=delete").acquire()->execute("CREATE TABLE note (id INTEGER)");
    auto upgrade = [&](const std::string& url, const std::string& target) {
        test::Process run(PANGEO_FORGE_COMMAND, {"db", "--url", url, "upgrade", target},
                          database.folder() + "/upgrade.log");
        BOOST_TEST_REQUIRE(run.wait() == 0, run.output());
    };
    auto journal_mode = [&] {
        db::Database pool(database.url(), db::PoolOptions{1}.keeping_journal_mode());
        return query_value(*pool.acquire(), "PRAGMA journal_mode");
    };
    upgrade(database.url(), "70bcddc9fffa");
    BOOST_TEST(journal_mode() == "delete");
    BOOST_TEST(!std::filesystem::exists(database.folder() + "/test.db-wal"));
    upgrade(database.url() + "?journal_mode=wal", "head");
    BOOST_TEST(journal_mode() == "wal");
    db::Database pool(database.url());
    BOOST_TEST(Migrator(pool, bundled()).current() == Ids{"a453b710a63a"});
}
BOOST_AUTO_TEST_SUITE_END()

// SQLite only: a process killed while it rebuilds a large table leaves the database as
// it was before the revision, every row in place.
BOOST_AUTO_TEST_SUITE(a_process_killed_mid_rebuild_leaves_the_revision_before)
BOOST_AUTO_TEST_CASE(sqlite) {
    constexpr int rows = 500000;
    test::ScratchDatabase database(db::Backend::sqlite);
    {
        db::Database pool(database.url());
        Migrator(pool, bundled()).upgrade("70bcddc9fffa");
        auto lease = pool.acquire();
        lease->execute("INSERT INTO bakery (region, name, description) VALUES ('r', 'n', 'd')");
        lease->execute("INSERT INTO feedstock (spec, provider) VALUES ('s', 'github')");
        lease->execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                       std::to_string(rows) +
                       ") INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, "
                       "status, is_test) SELECT 'recipe-' || i, 1, 1, 'sha', '1.0', '2021-01-01 00:00:00', 'queued', 0 "
                       "FROM n");
        lease->execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    const std::filesystem::path wal = database.folder() + "/test.db-wal";

    pid_t child = fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        try {
            db::Database pool(database.url());
            Migrator(pool, bundled()).upgrade("head");
        } catch (...) {
            _exit(2);
        }
        _exit(0);
    }
    // Kill it once the rebuild's copy is spilling into the WAL: well inside the transaction.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (size_or_zero(wal) < 4u * 1024 * 1024 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    BOOST_TEST_REQUIRE(WIFSIGNALED(status), "the migration ended before it could be killed");

    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.current() == Ids{"70bcddc9fffa"});
    auto lease = pool.acquire();
    BOOST_TEST(query_value(*lease, "SELECT COUNT(*) FROM reciperun") == std::to_string(rows));
    BOOST_TEST(query_value(*lease, "PRAGMA integrity_check") == "ok");
    BOOST_TEST(db::table_names(*lease) == (Ids{"alembic_version", "apikey", "bakery", "feedstock",
                                                "pangeo_forge_migration_steps", "pangeo_forge_migrations", "reciperun"}),
               boost::test_tools::per_element());
    BOOST_TEST(db::reflect_table(*lease, "reciperun")->find_column("status")->nullable);

    migrator.upgrade("head");  // and the next run completes it
    BOOST_TEST(query_value(*lease, "SELECT COUNT(*) FROM reciperun") == std::to_string(rows));
    BOOST_TEST(!db::reflect_table(*lease, "reciperun")->find_column("status")->nullable);
}
BOOST_AUTO_TEST_SUITE_END()

PANGEO_FORGE_DATABASE_TEST(the_command_prints_json_and_exits_with_the_documented_statuses) {
    Command command(database.url());
    { db::Database create(database.url()); }  // the read-only verbs want a database that exists

    // --dialect belongs to --sql: refused (2) before anything touches the database.
    auto refused = command.db({"upgrade", "head", "--dialect", "postgresql"});
    BOOST_TEST(refused.status == 2);
    BOOST_TEST(mentions(refused.err, "--dialect only applies with --sql"), refused.err);
    auto never = command.db({"current", "--json"});
    BOOST_TEST(never.status == 0, never.err);
    BOOST_TEST(document(never)["migrated"] == false);
    BOOST_TEST(document(never)["heads"] == nlohmann::json::array());

    // Drift is 1 for check, text or JSON.
    auto drifted = command.db({"check", "--json"});
    BOOST_TEST(drifted.status == 1, drifted.err);
    BOOST_TEST(document(drifted)["ok"] == false);
    BOOST_TEST(document(drifted)["heads"] == nlohmann::json({"a453b710a63a"}));

    auto upgraded = command.db({"upgrade", "head", "--json"});
    BOOST_TEST(upgraded.status == 0, upgraded.err);
    auto steps = document(upgraded)["steps"];
    BOOST_TEST_REQUIRE(steps.size() == 8u);
    BOOST_TEST(steps[0]["direction"] == "upgrade");
    BOOST_TEST(steps[0]["revision"] == "81c7d27bde71");
    BOOST_TEST(steps[0]["from"] == nlohmann::json::array());
    BOOST_TEST(steps[7]["to"] == nlohmann::json({"a453b710a63a"}));
    BOOST_TEST(document(upgraded)["current"] == nlohmann::json({"a453b710a63a"}));
    auto nothing = command.db({"upgrade", "head", "--json"});
    BOOST_TEST(nothing.status == 0);
    BOOST_TEST(document(nothing)["steps"] == nlohmann::json::array());

    auto checked = command.db({"check", "--json"});
    BOOST_TEST(checked.status == 0, checked.err);
    BOOST_TEST(document(checked)["ok"] == true);
    BOOST_TEST(document(checked)["differences"] == nlohmann::json::array());

    auto history = command.db({"history", "-i", "--json"});
    BOOST_TEST(history.status == 0, history.err);
    BOOST_TEST(document(history)["revisions"][0]["revision"] == "a453b710a63a");
    BOOST_TEST(document(history)["revisions"][0]["is_current"] == true);
    auto marked = command.db({"history", "--indicate-current"});
    BOOST_TEST(mentions(marked.out, "-> a453b710a63a (head) (current), add github app records"), marked.out);
    auto shown = command.db({"show", "0499", "--json"});
    BOOST_TEST(document(shown)["revisions"][0]["revision"] == "0499cef6b57a");
    BOOST_TEST(document(shown)["revisions"][0]["upgrade"].is_array());
    auto heads = command.db({"heads", "--json"});
    BOOST_TEST(document(heads)["revisions"][0]["is_head"] == true);

    // After a downgrade to base the version table is there, empty: not "never migrated".
    auto down = command.db({"downgrade", "base"});
    BOOST_TEST(down.status == 0, down.err);
    auto base = command.db({"current"});
    BOOST_TEST(base.out == "(base: no revision applied)\n");
    BOOST_TEST(document(command.db({"current", "--json"}))["migrated"] == true);

    // Usage errors are 2 whatever CLI11's own status; a failed verb is 1.
    BOOST_TEST(command.db({"current", "--no-such-option"}).status == 2);
    BOOST_TEST(command.db({"revision"}).status == 2);                       // -m is required
    BOOST_TEST(command.db({"upgrade", "head", "--sql", "--json"}).status == 2);
    BOOST_TEST(command.db({"upgrade", "head", "--sql", "--dialect", "oracle"}).status == 2);
    auto unknown = command.db({"upgrade", "feedbeef"});
    BOOST_TEST(unknown.status == 1);
    BOOST_TEST(mentions(unknown.err, "there is no revision 'feedbeef'"), unknown.err);
    BOOST_TEST(command.run({"--help"}).status == 0);
    BOOST_TEST(mentions(command.run({"db", "--help"}).out, "Exit status: 0 success"));

    // A schema file that cannot be read, migrations that cannot be: 3, not "drift".
    auto unreadable = command.db({"check", "--schema", (command.folder() / "missing.json").string()});
    BOOST_TEST(unreadable.status == 3, unreadable.err);
    BOOST_TEST(mentions(unreadable.err, "missing.json"), unreadable.err);
    auto no_migrations = command.db({"--migrations", (command.folder() / "none").string(), "check"});
    BOOST_TEST(no_migrations.status == 3, no_migrations.err);
}

// A database that cannot be reached is 3, with where its URL came from; a read-only verb on a
// SQLite path with no file leaves none behind.
// Needs no server: registered with the SQLite runs.
BOOST_AUTO_TEST_SUITE(an_unreachable_database_exits_3_and_names_where_the_url_came_from)
BOOST_AUTO_TEST_CASE(sqlite) {
    Command command("postgresql://nobody:secret@127.0.0.1:1/forge");
    auto refused = command.db({"current"});
    BOOST_TEST(refused.status == 3);
    BOOST_TEST(mentions(refused.err, "cannot connect to postgresql://nobody:***@127.0.0.1:1/forge"), refused.err);
    BOOST_TEST(mentions(refused.err, "(the URL came from --url)"), refused.err);

    const auto missing = command.folder() / "missing.db";
    Command sqlite("sqlite:///" + missing.string());
    const std::vector<std::vector<std::string>> reading{{"current"}, {"check"}, {"reflect"}, {"info"},
                                                        {"history", "-i"}, {"history", "-r", "base:current"}};
    for (const auto& verb : reading) {
        auto run = sqlite.db(verb);
        BOOST_TEST(run.status == 3, verb.front());
        BOOST_TEST(mentions(run.err, "there is no SQLite database at " + missing.string() + " (the URL came from --url)"),
                   run.err);
        BOOST_TEST(!std::filesystem::exists(missing), verb.front() << " created the file");
    }
    // Offline mode and the graph's verbs need no database, and create none.
    BOOST_TEST(sqlite.db({"upgrade", "head", "--sql"}).status == 0);
    BOOST_TEST(sqlite.db({"history"}).status == 0);
    BOOST_TEST(!std::filesystem::exists(missing));
    // An upgrade on a new file is how a database starts.
    BOOST_TEST(sqlite.db({"upgrade", "head"}).status == 0);
    BOOST_TEST(std::filesystem::exists(missing));

    Command bad_url("mysql://user@host/db");
    auto malformed = bad_url.db({"current"});
    BOOST_TEST(malformed.status == 2);
    BOOST_TEST(mentions(malformed.err, "(the URL came from --url)"), malformed.err);
}
BOOST_AUTO_TEST_SUITE_END()

// An installed copy of the bundled migrations takes no new revision without --migrations.
// Here the copy is the Python package's layout: the library with migrations/ beside it
// (a copy of libpangeo_forge, found first through LD_LIBRARY_PATH: the program's RUNPATH
// gives way to it).
// Needs no server: registered with the SQLite runs.
BOOST_AUTO_TEST_SUITE(authoring_refuses_an_installed_copy_of_the_migrations)
BOOST_AUTO_TEST_CASE(sqlite) {
    Command command("sqlite://");
    const auto installed = command.folder() / "installed";
    const auto versions = installed / "migrations" / "versions";
    std::filesystem::create_directories(versions);
    for (const auto& entry : std::filesystem::directory_iterator(bundled().folder())) {
        std::filesystem::copy_file(entry.path(), versions / entry.path().filename());
    }
    // libpangeo_forge.so.MAJOR.MINOR, the name the program asks for.
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(PANGEO_FORGE_COMMAND).parent_path())) {
        auto name = entry.path().filename().string();
        if (name.rfind("libpangeo_forge.so.", 0) == 0 && std::count(name.begin(), name.end(), '.') == 3) {
            std::filesystem::copy_file(entry.path(), installed / name);
        }
    }
    const auto before = std::distance(std::filesystem::directory_iterator(versions), {});
    ::setenv("LD_LIBRARY_PATH", installed.c_str(), 1);
    std::vector<Run> runs{command.run({"db", "revision", "-m", "mine"}), command.run({"db", "merge", "-m", "join", "heads"}),
                          command.run({"db", "--url", "sqlite:///" + (command.folder() / "a.db").string(), "revision",
                                       "--autogenerate", "-m", "auto"})};
    auto with_folder = command.run({"db", "--migrations", (installed / "migrations").string(), "heads"});
    ::unsetenv("LD_LIBRARY_PATH");
    for (const auto& run : runs) {
        BOOST_TEST(run.status == 2, run.out << run.err);
        BOOST_TEST(mentions(run.err, "the migrations at " + (installed / "migrations").string() +
                                         " are the installed copy of pangeo_forge's own"),
                   run.err);
        BOOST_TEST(mentions(run.err, "pass --migrations DIR"), run.err);
    }
    BOOST_TEST(std::distance(std::filesystem::directory_iterator(versions), {}) == before);
    BOOST_TEST(with_folder.status == 0, with_folder.err);  // reading them is fine
}
BOOST_AUTO_TEST_SUITE_END()
