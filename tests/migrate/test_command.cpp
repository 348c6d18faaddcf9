#define BOOST_TEST_MODULE command
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "support/migrations.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using Ids = std::vector<std::string>;
using Direction = StepReport::Direction;

namespace {

const std::string head = "a453b710a63a";          // add github app records
const std::string alembic_head = "0499cef6b57a";  // where the Python service's history ends
const Ids newest_first{"a453b710a63a", "b51d1daaff02", "3b96e7fb9cbd", "0499cef6b57a", "70bcddc9fffa", "b0ec74f6d899", "6197f9c7aff6", "81c7d27bde71"};

command::Config config_for(const std::string& url) {
    command::Config config;
    config.database_url = url;
    config.url_origin = command::UrlOrigin::option;
    return config;
}

// A URL the library refuses: a verb that connects fails, one that does not works.
const std::string unusable_url = "mysql://user@host/db";

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool any_line_mentions(const std::vector<std::string>& lines, const std::string& part) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) { return mentions(line, part); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(without_database)

BOOST_AUTO_TEST_CASE(the_offline_dialect_comes_from_the_url_without_connecting) {
    // Nothing listens on port 1: a connection attempt would throw.
    command::Context postgres(config_for("postgresql://nobody:secret@127.0.0.1:1/forge"));
    BOOST_TEST((command::offline_dialect(postgres, std::nullopt, "--dialect").backend() == db::Backend::postgresql));
    auto script = command::offline_sql(postgres, Direction::upgrade, {"base", "head"},
                                       command::offline_dialect(postgres, std::nullopt, "--dialect"));
    BOOST_TEST(mentions(script, "TIMESTAMP WITHOUT TIME ZONE"));
    // Nor is a SQLite file created by asking.
    auto missing = std::filesystem::temp_directory_path() / "pangeo_forge_offline_never_created.db";
    std::filesystem::remove(missing);
    command::Context sqlite(config_for("sqlite:///" + missing.string()));
    BOOST_TEST((command::offline_dialect(sqlite, std::nullopt, "--dialect").backend() == db::Backend::sqlite));
    BOOST_TEST(!std::filesystem::exists(missing));
}

BOOST_AUTO_TEST_CASE(a_dialect_name_error_names_the_option_and_the_choices) {
    BOOST_TEST((command::parse_dialect("sqlite", "--dialect").backend() == db::Backend::sqlite));
    BOOST_TEST((command::parse_dialect("postgresql", "--dialect").backend() == db::Backend::postgresql));
    for (const std::string option : {"--dialect", "dialect"}) {
        try {
            command::parse_dialect("oracle", option);
            BOOST_FAIL("oracle accepted");
        } catch (const ConfigError& error) {
            BOOST_TEST(std::string(error.what()) == option + " must be sqlite or postgresql, not 'oracle'");
        }
    }
}

BOOST_AUTO_TEST_CASE(an_offline_range_starts_where_its_direction_starts) {
    using Range = command::OfflineRange;
    BOOST_TEST((command::parse_offline_range("70bcddc9fffa:head", Direction::upgrade) == Range{"70bcddc9fffa", "head"}));
    BOOST_TEST((command::parse_offline_range("head", Direction::upgrade) == Range{"base", "head"}));
    BOOST_TEST((command::parse_offline_range(":head", Direction::upgrade) == Range{"base", "head"}));
    BOOST_TEST((command::parse_offline_range("base", Direction::downgrade) == Range{"heads", "base"}));
    BOOST_TEST((command::parse_offline_range("head:0499", Direction::downgrade) == Range{"head", "0499"}));
}

BOOST_AUTO_TEST_CASE(only_a_history_range_naming_current_needs_the_database) {
    BOOST_TEST(command::range_needs_current("base:current"));
    BOOST_TEST(command::range_needs_current("current:"));
    BOOST_TEST(!command::range_needs_current(""));
    BOOST_TEST(!command::range_needs_current("base:head"));
}

BOOST_AUTO_TEST_CASE(the_datasets_filter_takes_three_names_and_refuses_others_at_the_given_location) {
    using orchestrator::DatasetFilter;
    BOOST_TEST((orchestrator::parse_dataset_filter("all") == DatasetFilter::all));
    BOOST_TEST((orchestrator::parse_dataset_filter("production") == DatasetFilter::production));
    BOOST_TEST((orchestrator::parse_dataset_filter("test") == DatasetFilter::test));
    try {
        orchestrator::parse_dataset_filter("some");
        BOOST_FAIL("'some' accepted");
    } catch (const ValidationError& error) {
        BOOST_TEST(error.detail()["detail"][0]["loc"] == nlohmann::json({"query", "type"}));
        BOOST_TEST(mentions(error.what(), "'all', 'production', 'test'"));
    }
    try {
        orchestrator::parse_dataset_filter("", {"which"});
        BOOST_FAIL("'' accepted");
    } catch (const ValidationError& error) {
        BOOST_TEST(error.detail()["detail"][0]["loc"] == nlohmann::json({"which"}));
    }
}

BOOST_AUTO_TEST_CASE(the_config_takes_database_url_from_the_environment) {
    ::setenv("DATABASE_URL", "sqlite:///from-environment.db", 1);
    auto config = command::config_from_environment();
    BOOST_TEST(config.database_url == "sqlite:///from-environment.db");
    BOOST_TEST((config.url_origin == command::UrlOrigin::environment));
    ::unsetenv("DATABASE_URL");
    config = command::config_from_environment();
    BOOST_TEST(config.database_url == db::default_database_url);
    BOOST_TEST((config.url_origin == command::UrlOrigin::default_url));
    BOOST_TEST(config.migrations.empty());
}

BOOST_AUTO_TEST_CASE(graph_verbs_never_connect) {
    command::Context context(config_for(unusable_url));
    BOOST_TEST(command::heads(context).revisions == Ids{head});
    BOOST_TEST(command::heads(context, true).lines == Ids{head + " (head), add github app records"});
    BOOST_TEST(command::history(context).revisions == newest_first);
    BOOST_TEST(command::history(context, "base:head").lines.front() == "b51d1daaff02 -> " + head +
                                                                        " (head), add github app records");
    BOOST_TEST(command::branches(context).empty());
    auto shown = command::show(context, "0499");
    BOOST_TEST(shown.revision.id == alembic_head);
    BOOST_TEST(any_line_mentions(shown.lines, "alter_column reciperun.status"));
    auto sql = command::offline_sql(context, Direction::upgrade,
                                    command::parse_offline_range("70bcddc9fffa:head", Direction::upgrade),
                                    command::parse_dialect("postgresql", "--dialect"));
    BOOST_TEST(sql == offline_upgrade_sql(test::bundled(), "70bcddc9fffa", "head", db::Dialect(db::Backend::postgresql)));
    BOOST_TEST(mentions(sql, "ALTER TABLE \"reciperun\" ALTER COLUMN \"status\" SET NOT NULL"));
}

BOOST_AUTO_TEST_CASE(a_bad_url_error_says_where_the_url_came_from) {
    command::Context context(config_for(unusable_url));
    try {
        command::history(context, "base:current");
        BOOST_FAIL("connected to " + unusable_url);
    } catch (const ConfigError& error) {
        BOOST_TEST(mentions(error.what(), "scheme 'mysql' is not supported"));
        BOOST_TEST(mentions(error.what(), "(the URL came from --url)"));
    }
}

BOOST_AUTO_TEST_CASE(a_context_without_a_database_refuses_the_verbs_that_need_one) {
    command::Context context(std::make_shared<const RevisionGraph>(test::bundled()), nullptr);
    BOOST_TEST(!context.has_database());
    BOOST_TEST(command::history(context).revisions.size() == newest_first.size());
    BOOST_CHECK_EXCEPTION(command::current(context), ConfigError,
                          [](const ConfigError& error) { return mentions(error.what(), "no database"); });
    BOOST_TEST((command::offline_dialect(context, std::nullopt, "dialect").backend() == db::Backend::sqlite));
}

BOOST_AUTO_TEST_SUITE_END()

PANGEO_FORGE_DATABASE_TEST(upgrade_returns_the_steps_and_where_the_database_is) {
    command::Context context(config_for(database.url()));
    BOOST_TEST(command::current(context).heads.empty());
    std::vector<std::string> reported;
    auto moved = command::upgrade(context, "head", [&](const StepReport& step) { reported.push_back(step.revision); });
    BOOST_TEST_REQUIRE(moved.steps.size() == newest_first.size());
    BOOST_TEST(moved.steps.front().heads_before.empty());
    BOOST_TEST(moved.steps.back().revision == head);
    BOOST_TEST(reported == Ids(newest_first.rbegin(), newest_first.rend()));
    BOOST_TEST(moved.current == Ids{head});
    BOOST_TEST(moved.warnings.empty());

    auto again = command::upgrade(context, "head");
    BOOST_TEST(again.steps.empty());
    BOOST_TEST(again.current == Ids{head});

    auto back = command::downgrade(context, "-3");
    BOOST_TEST_REQUIRE(back.steps.size() == 3u);
    BOOST_TEST((back.steps[0].direction == Direction::downgrade));
    BOOST_TEST(back.current == Ids{alembic_head});
}

// SQLite only, by nature: PostgreSQL has no journal mode. A migration leaves the file's
// journal as it found it (an Alembic-made file: a rollback journal) unless the URL names one.
BOOST_AUTO_TEST_SUITE(upgrade_keeps_the_journal_mode_of_the_file_unless_the_url_names_one)
BOOST_AUTO_TEST_CASE(sqlite) {
    test::ScratchDatabase database(db::Backend::sqlite);
    db::Database(database.url() + "?journal_mode=delete").acquire()->execute("CREATE TABLE note (id INTEGER)");
    auto journal_mode = [&] {
        db::Database pool(database.url(), db::PoolOptions{1}.keeping_journal_mode());
        return test::query_value(*pool.acquire(), "PRAGMA journal_mode");
    };
    {
        command::Context context(config_for(database.url()));
        BOOST_TEST(command::upgrade(context, "head").current == Ids{head});
        BOOST_TEST(test::query_value(*context.database().acquire(), "PRAGMA journal_mode") == "delete");
    }
    BOOST_TEST(journal_mode() == "delete");
    BOOST_TEST(!std::filesystem::exists(database.folder() + "/test.db-wal"));

    command::Context switching(config_for(database.url() + "?journal_mode=wal"));
    BOOST_TEST(command::downgrade(switching, "-1").steps.size() == 1u);
    BOOST_TEST(journal_mode() == "wal");
}
BOOST_AUTO_TEST_SUITE_END()

PANGEO_FORGE_DATABASE_TEST(history_with_current_reads_the_database) {
    command::Context context(config_for(database.url()));
    command::upgrade(context, alembic_head);
    auto listing = command::history(context, "base:current");
    BOOST_TEST(listing.revisions == Ids(newest_first.begin() + 3, newest_first.end()));
    BOOST_TEST(listing.lines.front() == "70bcddc9fffa -> " + alembic_head + " (current), remove api keys");
    auto above = command::history(context, "current:");
    BOOST_TEST(above.revisions == (Ids{head, "b51d1daaff02", "3b96e7fb9cbd", alembic_head}));
}

PANGEO_FORGE_DATABASE_TEST(stamp_and_current_return_the_lines_to_print) {
    command::Context context(config_for(database.url()));
    auto stamped = command::stamp(context, "head");
    BOOST_TEST(stamped.heads == Ids{head});
    BOOST_TEST(stamped.lines == Ids{head + " (head), add github app records"});
    auto now = command::stamp(context, "70bcddc9fffa");
    BOOST_TEST(now.lines == Ids{"70bcddc9fffa, add dataset fields"});
    BOOST_TEST(command::current(context).heads == Ids{"70bcddc9fffa"});
}

PANGEO_FORGE_DATABASE_TEST(check_returns_the_differences) {
    command::Context context(config_for(database.url()));
    BOOST_TEST(!command::check(context, model::schema()).empty());  // not migrated: not at head
    command::upgrade(context, "head");
    BOOST_TEST(command::check(context, model::schema()).empty());

    auto declared = model::schema();
    for (auto& table : declared.tables) {
        if (table.name != "bakery") continue;
        for (auto& column : table.columns) {
            if (column.name == "description") column.name = "summary";
        }
    }
    auto differences = command::check(context, declared);
    BOOST_TEST(any_line_mentions(differences, "column bakery.summary is declared but not in the database"));
    BOOST_TEST(any_line_mentions(differences, "bakery.description"));
}

PANGEO_FORGE_DATABASE_TEST(info_reflect_and_the_offline_dialect_come_from_the_database) {
    command::Context context(config_for(database.url()));
    auto about = command::info(context);
    BOOST_TEST(about.backend == std::string(db::to_string(database.backend())));
    BOOST_TEST(!about.server_version.empty());
    BOOST_TEST((about.url_origin == command::UrlOrigin::option));
    BOOST_TEST(!mentions(about.url, "forge-pw"));  // the test server's password never shows
    BOOST_TEST((command::offline_dialect(context, std::nullopt, "dialect").backend() == database.backend()));

    command::upgrade(context, "head");
    auto tables = command::reflect(context);
    BOOST_TEST(tables.find_table("reciperun") != nullptr);
    BOOST_TEST(tables.find_table(version_table) == nullptr);
}

PANGEO_FORGE_DATABASE_TEST(authoring_verbs_write_revisions_on_the_head) {
    auto folder = std::filesystem::temp_directory_path() / ("pangeo_forge_command_" + new_revision_id());
    std::filesystem::create_directories(folder);
    for (const auto& entry : std::filesystem::directory_iterator(bundled_migrations() / "versions")) {
        std::filesystem::copy_file(entry.path(), folder / entry.path().filename());
    }
    auto config = config_for(database.url());
    config.migrations = folder;
    {
        command::Context context(config);
        command::upgrade(context, "head");
        auto empty = command::autogenerate_revision(context, model::schema(), "nothing");
        BOOST_TEST(!empty.revision.has_value());
        auto written = command::revision(context, "next");
        BOOST_TEST(written.down_revisions == Ids{head});
        BOOST_TEST(std::filesystem::exists(written.path));
    }
    {
        command::Context context(config);
        BOOST_TEST(command::heads(context).revisions.size() == 1u);
        BOOST_CHECK_THROW(command::merge(context, {"heads"}, "join"), MigrationError);  // one head: nothing to join
    }
    std::filesystem::remove_all(folder);
}
