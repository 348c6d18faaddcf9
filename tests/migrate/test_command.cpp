#define BOOST_TEST_MODULE command
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "support/migrations.hpp"
#include "support/process.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using Ids = std::vector<std::string>;
using Direction = StepReport::Direction;
using test::MigrationsCopy;

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


// The message of what `action` throws as E; fails the test when it throws nothing.
template <class E, class Action>
std::string refusal(Action action) {
    try {
        action();
    } catch (const E& error) {
        return error.what();
    }
    BOOST_FAIL("nothing was refused");
    return "";
}

// Opens (and so creates) the database, as a service would before any migration.
void create(const test::ScratchDatabase& database) { db::Database opened(database.url()); }

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

BOOST_AUTO_TEST_CASE(a_duration_is_a_number_and_its_unit_and_never_silently_no_limit) {
    BOOST_TEST(command::parse_duration("2s", "--lock-timeout").count() == 2000);
    BOOST_TEST(command::parse_duration("1.5s", "--lock-timeout").count() == 1500);
    BOOST_TEST(command::parse_duration("1ms", "--lock-timeout").count() == 1);
    BOOST_TEST(command::parse_duration("2min", "--lock-timeout").count() == 120'000);
    BOOST_TEST(command::parse_duration("0", "--lock-timeout").count() == 0);
    BOOST_TEST(command::parse_duration("1440min", "--lock-timeout").count() == 86'400'000);
    // A wait shorter than a millisecond would round to 0, which waits without limit; a number
    // too long for a double is refused like any other, naming where it came from.
    const std::vector<std::string> refused{"0.4ms", "0.0001ms", "-1s", "1e9s", "nan", "5", "1.s", "86401s",
                                           std::string(400, '9') + "s"};
    for (const auto& text : refused) {
        auto message = refusal<ConfigError>([&] { command::parse_duration(text, "PANGEO_FORGE_LOCK_TIMEOUT"); });
        BOOST_TEST(mentions(message, "PANGEO_FORGE_LOCK_TIMEOUT is '" + text + "', which is no duration"), message);
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
    BOOST_TEST(shown.revisions.at(0).id == alembic_head);
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

BOOST_AUTO_TEST_CASE(revision_options_build_on_the_named_revision) {
    MigrationsCopy copy;
    // --head names a head by prefix; --rev-id, --branch-label and --depends-on go into the file.
    RevisionOptions options;
    options.head = "a453";
    options.rev_id = "feature_1";
    options.branch_labels = {"feature"};
    options.depends_on = {"0499", alembic_head};  // a prefix, resolved to the id, and written once
    auto written = create_revision(copy.graph(), "feature work", options);
    BOOST_TEST(written.id == "feature_1");
    BOOST_TEST(written.down_revisions == Ids{head});
    BOOST_TEST(written.depends_on == Ids{alembic_head});
    auto graph = copy.graph();
    BOOST_TEST(graph.get("feature_1").branch_labels == Ids{"feature"});
    BOOST_TEST(graph.get("feature_1").depends_on == Ids{alembic_head});
    BOOST_TEST(graph.resolve_target("feature@head", {}) == Ids{"feature_1"});

    // A revision in the middle needs --splice, and then starts a second branch.
    RevisionOptions middle;
    middle.head = alembic_head;
    auto message = refusal<MigrationError>([&] { create_revision(graph, "side", middle); });
    BOOST_TEST(mentions(message, "revision " + alembic_head + " is not a head"), message);
    BOOST_TEST(mentions(message, "--splice"), message);
    middle.splice = true;
    BOOST_TEST(create_revision(graph, "side", middle).down_revisions == Ids{alembic_head});

    // Two heads now: without --head the new revision has nowhere to go.
    graph = copy.graph();
    BOOST_TEST(graph.heads().size() == 2u);
    message = refusal<MigrationError>([&] { create_revision(graph, "more"); });
    BOOST_TEST(mentions(message, "2 heads"), message);
    BOOST_TEST(mentions(message, "pass --head"), message);
    BOOST_TEST(mentions(message, "pangeo-forge db merge"), message);
    RevisionOptions on_label;
    on_label.head = "feature@head";
    on_label.depends_on = {"feature"};  // a label, resolved to its revision's id
    auto more = create_revision(graph, "more", on_label);
    BOOST_TEST(more.down_revisions == Ids{"feature_1"});
    BOOST_TEST(more.depends_on == Ids{"feature_1"});

    // --head base: a new base, an independent branch.
    RevisionOptions base;
    base.head = "base";
    base.branch_labels = {"other"};
    auto independent = create_revision(copy.graph(), "independent", base);
    BOOST_TEST(independent.down_revisions.empty());
    BOOST_TEST(copy.graph().bases().size() == 2u);
}

BOOST_AUTO_TEST_CASE(revision_options_refuse_taken_or_malformed_names_and_write_nothing) {
    MigrationsCopy copy;
    auto graph = copy.graph();
    auto files_before = std::distance(std::filesystem::directory_iterator(copy.folder()), {});
    RevisionOptions options;
    options.rev_id = alembic_head;
    auto message = refusal<MigrationError>([&] { create_revision(graph, "x", options); });
    BOOST_TEST(mentions(message, "there is a revision " + alembic_head + " already"), message);
    for (const std::string& bad : std::vector<std::string>{"", "has-dash", "has space", std::string(33, 'a')}) {
        options.rev_id = bad;
        message = refusal<ConfigError>([&] { create_revision(graph, "x", options); });
        BOOST_TEST(mentions(message, "the revision id '" + bad + "' is not valid: use 1 to 32 letters, digits or underscores"),
                   message);
    }
    options.rev_id = std::string(32, 'b');  // 32 is Alembic's VARCHAR(32)
    options.branch_labels = {"a@b"};
    message = refusal<ConfigError>([&] { create_revision(graph, "x", options); });
    BOOST_TEST(mentions(message, "the branch label 'a@b' is not valid"), message);
    options.branch_labels = {"twice", "twice"};
    message = refusal<ConfigError>([&] { create_revision(graph, "x", options); });
    BOOST_TEST(mentions(message, "'twice' is given twice"), message);
    options.branch_labels = {};
    options.depends_on = {"feedbeef"};
    BOOST_CHECK_THROW(create_revision(graph, "x", options), MigrationError);
    options.depends_on = {};
    options.head = "feedbeef";
    BOOST_CHECK_THROW(create_revision(graph, "x", options), MigrationError);
    BOOST_TEST(std::distance(std::filesystem::directory_iterator(copy.folder()), {}) == files_before);

    options.head.reset();
    options.branch_labels = {"taken"};
    create_revision(graph, "labelled", options);
    options.rev_id.reset();
    message = refusal<MigrationError>([&] { create_revision(copy.graph(), "again", options); });
    BOOST_TEST(mentions(message, "the branch label 'taken' is taken by revision " + std::string(32, 'b')), message);
}

BOOST_AUTO_TEST_CASE(the_json_of_the_graph_verbs_holds_the_revisions) {
    command::Context context(config_for(unusable_url));
    const auto& graph = context.graph();
    auto heads_json = command::listing_json(graph, command::heads(context));
    BOOST_TEST_REQUIRE(heads_json["revisions"].size() == 1u);
    const auto& top = heads_json["revisions"][0];
    BOOST_TEST(top["revision"] == head);
    BOOST_TEST(top["down_revisions"] == nlohmann::json({"b51d1daaff02"}));
    BOOST_TEST(top["message"] == "add github app records");
    BOOST_TEST(top["is_head"] == true);
    BOOST_TEST(top["is_base"] == false);
    BOOST_TEST(top["is_branch_point"] == false);
    BOOST_TEST(top["is_merge_point"] == false);
    BOOST_TEST(top["branch_labels"] == nlohmann::json::array());
    BOOST_TEST(mentions(top["path"].get<std::string>(), head));
    BOOST_TEST(!top.contains("is_current"));  // the database was not read
    BOOST_TEST(!heads_json.contains("warnings"));

    auto history_json = command::listing_json(graph, command::history(context));
    BOOST_TEST_REQUIRE(history_json["revisions"].size() == newest_first.size());
    for (std::size_t i = 0; i < newest_first.size(); ++i) {
        BOOST_TEST(history_json["revisions"][i]["revision"] == newest_first[i]);
    }
    BOOST_TEST(history_json["revisions"].back()["is_base"] == true);

    auto shown_all = command::shown_json(graph, command::show(context, "0499"));
    BOOST_TEST(shown_all["revisions"].size() == 1u);
    auto shown = shown_all["revisions"][0];
    BOOST_TEST(shown["revision"] == alembic_head);
    BOOST_TEST(shown["upgrade"] == nlohmann::json::parse(test::file_text(shown["path"].get<std::string>()))["upgrade"]);
    BOOST_TEST(shown["downgrade"].size() == graph.get(alembic_head).downgrade.size());
}

BOOST_AUTO_TEST_CASE(the_bundled_migrations_of_a_build_are_the_source_tree_s_and_writable) {
    const char* configured = std::getenv("PANGEO_FORGE_MIGRATIONS");
    const std::string kept = configured == nullptr ? "" : configured;
    ::unsetenv("PANGEO_FORGE_MIGRATIONS");
    BOOST_TEST((bundled_migrations_origin() == MigrationsOrigin::source_tree));
    command::Context context(config_for(unusable_url));
    command::refuse_installed_migrations(context);  // the project adds its revisions here
    ::setenv("PANGEO_FORGE_MIGRATIONS", "/somewhere/else", 1);
    BOOST_TEST((bundled_migrations_origin() == MigrationsOrigin::environment));
    BOOST_TEST(bundled_migrations() == "/somewhere/else");
    if (kept.empty()) {
        ::unsetenv("PANGEO_FORGE_MIGRATIONS");
    } else {
        ::setenv("PANGEO_FORGE_MIGRATIONS", kept.c_str(), 1);
    }
}

BOOST_AUTO_TEST_CASE(a_read_only_verb_on_a_missing_sqlite_file_says_so_and_creates_nothing) {
    auto missing = std::filesystem::temp_directory_path() / ("pangeo_forge_missing_" + new_revision_id() + ".db");
    auto config = config_for("sqlite:///" + missing.string());
    config.url_origin = command::UrlOrigin::environment;
    command::Context context(config);
    for (const auto& verb : std::vector<std::function<void()>>{
             [&] { command::current(context); }, [&] { command::history(context, "", false, true); },
             [&] { command::check(context, model::schema()); }, [&] { command::reflect(context); },
             [&] { command::info(context); }, [&] { command::show(context, "current"); },
             [&] { command::show(context, "-1"); }}) {
        auto message = refusal<UnreachableError>(verb);
        BOOST_TEST(message == "there is no SQLite database at " + missing.string() +
                                  " (the URL came from DATABASE_URL): check the path, or create the database with "
                                  "`pangeo-forge db upgrade head`");
        BOOST_TEST(!std::filesystem::exists(missing));
    }
}

BOOST_AUTO_TEST_CASE(a_connection_failure_is_unreachable_and_says_where_the_url_came_from) {
    // Nothing listens on port 1.
    command::Context context(config_for("postgresql://nobody:secret@127.0.0.1:1/forge"));
    auto message = refusal<UnreachableError>([&] { command::current(context); });
    BOOST_TEST(mentions(message, "cannot connect to postgresql://nobody:***@127.0.0.1:1/forge"), message);
    BOOST_TEST(mentions(message, "(the URL came from --url)"), message);
    BOOST_TEST(!mentions(message, "secret"), message);
}

BOOST_AUTO_TEST_SUITE_END()

PANGEO_FORGE_DATABASE_TEST(upgrade_returns_the_steps_and_where_the_database_is) {
    command::Context context(config_for(database.url()));
    create(database);
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

    auto json = command::moved_json(back);
    BOOST_TEST_REQUIRE(json["steps"].size() == 3u);
    BOOST_TEST(json["steps"][0]["direction"] == "downgrade");
    BOOST_TEST(json["steps"][0]["revision"] == head);
    BOOST_TEST(json["steps"][0]["from"] == nlohmann::json({head}));
    BOOST_TEST(json["steps"][0]["to"] == nlohmann::json({"b51d1daaff02"}));
    BOOST_TEST(json["steps"][0]["down_revisions"] == nlohmann::json({"b51d1daaff02"}));
    BOOST_TEST(json["steps"][0]["message"] == "add github app records");
    BOOST_TEST(json["steps"][0]["duration_ms"].get<double>() >= 0);
    BOOST_TEST(json["current"] == nlohmann::json({alembic_head}));
    BOOST_TEST(json["warnings"] == nlohmann::json::array());
}

// The Python face opens the database itself and lends it: its URL's migration keys still count.
PANGEO_FORGE_DATABASE_TEST(a_lent_database_s_url_sets_the_lock_timeout_and_retries) {
    const std::string& url = database.url();
    db::Database lent(url + (url.find('?') == std::string::npos ? "?" : "&") + "lock_timeout=5s&lock_retries=3");
    command::Context context(std::make_shared<const RevisionGraph>(test::bundled()), &lent);
    auto options = context.live_options();
    BOOST_TEST(options.lock_timeout.count() == 5000);
    BOOST_TEST(options.lock_retries == 3);
    db::Database plain(url);
    BOOST_TEST(command::Context(std::make_shared<const RevisionGraph>(test::bundled()), &plain)
                   .live_options()
                   .lock_timeout.count() == LiveOptions{}.lock_timeout.count());
}

PANGEO_FORGE_DATABASE_TEST(a_bad_lock_timeout_stops_the_verbs_that_run_revisions_only) {
    const std::string& url = database.url();
    command::Context context(config_for(url + (url.find('?') == std::string::npos ? "?" : "&") + "lock_timeout=soon"));
    create(database);
    BOOST_TEST(command::current(context).heads.empty());
    auto message = refusal<ConfigError>([&] { command::upgrade(context, "head"); });
    BOOST_TEST(mentions(message, "the URL's lock_timeout is 'soon', which is no duration"), message);
    command::stamp(context, "base", false);
}

PANGEO_FORGE_DATABASE_TEST(current_tells_base_from_never_migrated) {
    create(database);
    command::Context context(config_for(database.url()));
    auto never = command::current(context);
    BOOST_TEST(never.heads.empty());
    BOOST_TEST(!never.migrated);
    command::upgrade(context, "head");
    auto json = command::current_json(context.graph(), command::current(context));
    BOOST_TEST(json["heads"] == nlohmann::json({head}));
    BOOST_TEST(json["at_head"] == true);
    BOOST_TEST(json["migrated"] == true);
    BOOST_TEST_REQUIRE(json["revisions"].size() == 1u);
    BOOST_TEST(json["revisions"][0]["revision"] == head);
    BOOST_TEST(json["revisions"][0]["is_current"] == true);

    command::downgrade(context, "base");
    auto based = command::current(context);
    BOOST_TEST(based.heads.empty());
    BOOST_TEST(based.migrated);
    json = command::current_json(context.graph(), based);
    BOOST_TEST(json["at_head"] == false);
    BOOST_TEST(json["migrated"] == true);
    BOOST_TEST(json["revisions"] == nlohmann::json::array());
}

PANGEO_FORGE_DATABASE_TEST(current_names_a_revision_that_a_stopped_run_left_partly_applied) {
    MigrationsCopy copy;
    // On PostgreSQL the index is built concurrently, a step of its own, before the raw SQL fails.
    copy.write("5709ed000001_stops_halfway.json", R"json({
      "revision": "5709ed000001", "down_revision": "a453b710a63a", "message": "stops halfway",
      "upgrade": [{"op": "create_index", "table": "bakery",
                   "index": {"name": "ix_bakery_region", "columns": ["region"], "unique": false}},
                  {"op": "execute", "sql": "INSERT INTO no_such_table VALUES (1)"}],
      "downgrade": []})json");
    auto config = config_for(database.url());
    config.migrations = copy.folder();
    command::Context context(config);
    command::upgrade(context, head);
    BOOST_CHECK_THROW(command::upgrade(context, "head"), MigrationError);
    auto now = command::current(context);
    auto json = command::current_json(context.graph(), now);
    BOOST_TEST(now.heads == Ids{head});
    if (database.backend() == db::Backend::sqlite) {
        BOOST_TEST(!now.partly_applied.has_value());
        BOOST_TEST(json["partly_applied"].is_null());
        return;
    }
    BOOST_TEST_REQUIRE(now.partly_applied.has_value());
    BOOST_TEST(now.partly_applied->revision == "5709ed000001");
    BOOST_TEST(now.partly_applied->steps_done == 1u);
    BOOST_TEST(mentions(now.lines.back(), "revision 5709ed000001 is partly applied"), now.lines.back());
    BOOST_TEST(mentions(now.lines.back(), "`pangeo-forge db upgrade 5709ed000001`"), now.lines.back());
    BOOST_TEST(json["partly_applied"]["steps_done"] == 1);
    BOOST_TEST(json["partly_applied"]["direction"] == "upgrade");
}

PANGEO_FORGE_DATABASE_TEST(history_and_check_warn_of_a_changed_applied_file) {
    MigrationsCopy copy;
    auto config = config_for(database.url());
    config.migrations = copy.folder();
    {
        command::Context context(config);
        command::upgrade(context, "head");
    }
    // Edit the head's file after it was applied: only its message, the schema is unchanged.
    std::filesystem::path file;
    for (const auto& entry : std::filesystem::directory_iterator(copy.folder())) {
        if (mentions(entry.path().filename().string(), head)) file = entry.path();
    }
    auto text = test::file_text(file.string());
    text.replace(text.find("add github app records"), 3, "ADD");
    std::ofstream(file, std::ios::binary) << text;

    command::Context context(config);
    std::vector<std::string> warned;
    context.on_warning([&](const std::string& warning) { warned.push_back(warning); });
    // Offline history reads nothing, and so warns of nothing.
    BOOST_TEST(!command::history(context).current.has_value());
    BOOST_TEST(warned.empty());

    auto listing = command::history(context, "", false, true);
    BOOST_TEST_REQUIRE(listing.current.has_value());
    BOOST_TEST(*listing.current == Ids{head});
    BOOST_TEST(listing.lines.front() == "b51d1daaff02 -> " + head + " (head) (current), ADD github app records");
    BOOST_TEST_REQUIRE(listing.warnings.size() == 1u);
    BOOST_TEST(mentions(listing.warnings[0], "revision " + head + " (" + file.filename().string() + ") changed"));
    BOOST_TEST(warned == listing.warnings);
    auto json = command::listing_json(context.graph(), listing);
    BOOST_TEST(json["revisions"][0]["is_current"] == true);
    BOOST_TEST(json["revisions"][1]["is_current"] == false);
    BOOST_TEST(json["warnings"] == nlohmann::json(listing.warnings));

    auto checked = command::check(context, model::schema());
    BOOST_TEST(checked.ok());
    BOOST_TEST(checked.warnings == listing.warnings);
    auto check_json = command::checked_json(checked);
    BOOST_TEST(check_json["ok"] == true);
    BOOST_TEST(check_json["current"] == nlohmann::json({head}));
    BOOST_TEST(check_json["heads"] == nlohmann::json({head}));
    BOOST_TEST(check_json["differences"] == nlohmann::json::array());
    BOOST_TEST(check_json["warnings"] == nlohmann::json(listing.warnings));
}

PANGEO_FORGE_DATABASE_TEST(autogenerate_builds_on_the_head_the_database_is_at) {
    MigrationsCopy copy;
    auto config = config_for(database.url());
    config.migrations = copy.folder();
    RevisionOptions side;
    side.head = alembic_head;
    side.splice = true;
    side.branch_labels = {"side"};
    side.rev_id = "side_1";
    create_revision(copy.graph(), "side branch", side);  // two heads: a453b710a63a and side_1

    auto declared = model::schema();
    for (auto& table : declared.tables) {
        if (table.name == "bakery") table.columns.push_back({"colour", {schema::TypeKind::text, {}}, true, std::nullopt, false});
    }
    command::Context context(config);
    command::upgrade(context, head);
    RevisionOptions options;
    options.head = "side@head";
    auto message = refusal<MigrationError>([&] { command::autogenerate_revision(context, declared, "colour", false, options); });
    BOOST_TEST(mentions(message, "the database is at " + head + ", not at side_1"), message);
    BOOST_TEST(mentions(message, "pangeo-forge db upgrade side_1"), message);

    options.head = head;
    options.rev_id = "colour_1";
    options.branch_labels = {"colours"};
    auto generated = command::autogenerate_revision(context, declared, "colour", false, options);
    BOOST_TEST_REQUIRE(generated.revision.has_value());
    BOOST_TEST(generated.revision->id == "colour_1");
    BOOST_TEST(generated.revision->down_revisions == Ids{head});
    BOOST_TEST(generated.revision->branch_labels == Ids{"colours"});
    BOOST_TEST(any_line_mentions(generated.comparison.differences, "bakery.colour"));
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
    command::upgrade(context, alembic_head);  // an upgrade creates the SQLite file
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
    create(database);
    command::Context context(config_for(database.url()));
    auto unmigrated = command::check(context, model::schema());
    BOOST_TEST(!unmigrated.ok());  // not migrated: not at head
    BOOST_TEST(unmigrated.current.empty());
    BOOST_TEST(unmigrated.heads == Ids{head});
    BOOST_TEST(command::checked_json(unmigrated)["ok"] == false);
    command::upgrade(context, "head");
    BOOST_TEST(command::check(context, model::schema()).ok());

    auto declared = model::schema();
    for (auto& table : declared.tables) {
        if (table.name != "bakery") continue;
        for (auto& column : table.columns) {
            if (column.name == "description") column.name = "summary";
        }
    }
    auto differences = command::check(context, declared).differences;
    BOOST_TEST(any_line_mentions(differences, "column bakery.summary is declared but not in the database"));
    BOOST_TEST(any_line_mentions(differences, "bakery.description"));
}

PANGEO_FORGE_DATABASE_TEST(info_reflect_and_the_offline_dialect_come_from_the_database) {
    create(database);
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
