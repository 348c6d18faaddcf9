#define BOOST_TEST_MODULE orchestrator
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <fstream>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "support/query.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

#ifdef __SANITIZE_ADDRESS__
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();  // ASan's runtime; GCC ships no header for it
#endif

using namespace pangeo_forge;
using namespace pangeo_forge::model;
using namespace pangeo_forge::orchestrator;
using nlohmann::json;

using test::bundled;
using test::upgraded_to_head;

namespace {

const Timestamp started{std::chrono::seconds(1609459200) + std::chrono::microseconds(123456)};  // 2021-01-01



// A database at head and an orchestrator over it.
struct Fixture {
    explicit Fixture(const test::ScratchDatabase& scratch)
        : pool(scratch.url()), at_head(upgraded_to_head(pool)), orchestrator(pool, bundled()) {}
    db::Database pool;
    bool at_head;
    Orchestrator orchestrator;
};

BakeryCreate a_bakery(const std::string& name = "pangeo-ldeo-nsf-earthcube") {
    return decode<BakeryCreate>(json{{"region", "us-central1"}, {"name", name}, {"description", "A great bakery"}});
}

FeedstockCreate a_feedstock() { return decode<FeedstockCreate>(json{{"spec", "pangeo-forge/noaa-oisst-feedstock"}}); }

RecipeRunCreate a_run(std::int64_t bakery, std::int64_t feedstock, json extra = json::object()) {
    json body = {{"recipe_id", "noaa-oisst-avhrr-only"}, {"bakery_id", bakery}, {"feedstock_id", feedstock},
                 {"head_sha", "035ee3e8"}, {"version", "1.0"}, {"started_at", "2021-01-01T00:00:00.123456Z"}};
    body.update(extra);
    return decode<RecipeRunCreate>(body);
}

std::vector<std::string> problem_fields(const std::function<void()>& action) {
    try {
        action();
    } catch (const ValidationError& error) {
        std::vector<std::string> fields;
        for (const auto& problem : error.errors()) fields.push_back(problem.loc.back());
        return fields;
    }
    return {};
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_orchestrator_refuses_a_database_not_at_head) {
    db::Database pool(database.url());
    migrate::Migrator(pool, bundled()).upgrade("70bcddc9fffa");
    std::string message = test::error_message([&] { Orchestrator orchestrator(pool, bundled()); });
    BOOST_TEST(message.find("run `pangeo-forge db upgrade head` first") != std::string::npos, message);
}

PANGEO_FORGE_DATABASE_TEST(created_rows_read_back_with_their_relations) {
    Fixture f(database);
    auto bakery = f.orchestrator.create(a_bakery());
    auto feedstock = f.orchestrator.create(a_feedstock());
    BOOST_TEST(bakery.id > 0);
    BOOST_TEST((feedstock.provider == RepoProvider::github));
    auto run = f.orchestrator.create(a_run(bakery.id, feedstock.id,
                                           {{"message", "hi"}, {"is_test", true}, {"dataset_type", "zarr"},
                                            {"dataset_public_url", "https://x/y.zarr"}}));
    BOOST_TEST((run.status == RecipeRunStatus::queued));
    BOOST_TEST((run.started_at == started));

    auto read = f.orchestrator.recipe_run(run.id);
    BOOST_TEST((read.recipe_run == run), json(read.recipe_run).dump() << " vs " << json(run).dump());
    BOOST_TEST((read.bakery == bakery));
    BOOST_TEST((read.feedstock == feedstock));
    BOOST_TEST((f.orchestrator.bakery(bakery.id) == BakeryWithRecipeRuns{bakery, {run}}));
    BOOST_TEST((f.orchestrator.feedstock(feedstock.id) == FeedstockWithRecipeRuns{feedstock, {run}}));
}

PANGEO_FORGE_DATABASE_TEST(missing_rows_are_not_found) {
    Fixture f(database);
    BOOST_TEST(test::error_message([&] { f.orchestrator.bakery(42); }) == "Bakery not found");
    BOOST_TEST(test::error_message([&] { f.orchestrator.feedstock(42); }) == "Feedstock not found");
    BOOST_TEST(test::error_message([&] { f.orchestrator.recipe_run(42); }) == "RecipeRun not found");
    BOOST_CHECK_THROW(f.orchestrator.update(42, BakeryUpdate{}), NotFound);
    BOOST_CHECK_THROW(f.orchestrator.delete_recipe_run(42), NotFound);
    BOOST_CHECK_THROW(f.orchestrator.datasets(42), NotFound);
}

PANGEO_FORGE_DATABASE_TEST(a_run_naming_a_missing_bakery_or_feedstock_is_invalid) {
    Fixture f(database);
    auto bakery = f.orchestrator.create(a_bakery());
    BOOST_TEST(problem_fields([&] { f.orchestrator.create(a_run(bakery.id, 99)); }) ==
               std::vector<std::string>{"feedstock_id"});
    BOOST_TEST(problem_fields([&] { f.orchestrator.create(a_run(98, 99)); }) ==
                   (std::vector<std::string>{"bakery_id", "feedstock_id"}),
               boost::test_tools::per_element());
    BOOST_TEST(f.orchestrator.count_recipe_runs() == 0);
}

PANGEO_FORGE_DATABASE_TEST(pages_are_ordered_bounded_and_checked) {
    Fixture f(database);
    for (const char* name : {"b", "c", "a"}) f.orchestrator.create(a_bakery(name));
    auto names = [&](const Page& page) {
        std::vector<std::string> out;
        for (const auto& bakery : f.orchestrator.bakeries(page)) out.push_back(bakery.name);
        return out;
    };
    BOOST_TEST(names({}) == (std::vector<std::string>{"b", "c", "a"}), boost::test_tools::per_element());
    BOOST_TEST(names({0, 100, "name", SortOrder::asc}) == (std::vector<std::string>{"a", "b", "c"}),
               boost::test_tools::per_element());
    BOOST_TEST(names({1, 1, "name", SortOrder::desc}) == std::vector<std::string>{"b"});
    BOOST_TEST(problem_fields([&] { f.orchestrator.bakeries({0, 101, "id", SortOrder::asc}); }) ==
               std::vector<std::string>{"limit"});
    BOOST_TEST(problem_fields([&] { f.orchestrator.bakeries({-1, 0, "id", SortOrder::asc}); }) ==
                   (std::vector<std::string>{"offset", "limit"}),
               boost::test_tools::per_element());
    for (const char* attempt : {"name; DROP TABLE bakery", "id DESC", "\"name\"", "spec"}) {
        BOOST_TEST(problem_fields([&] { f.orchestrator.bakeries({0, 10, attempt, SortOrder::asc}); }) ==
                   std::vector<std::string>{"order_by"});
    }
    BOOST_TEST(f.orchestrator.count_bakeries() == 3);
}

PANGEO_FORGE_DATABASE_TEST(updates_change_only_what_was_sent) {
    Fixture f(database);
    auto bakery = f.orchestrator.create(a_bakery());
    auto feedstock = f.orchestrator.create(a_feedstock());
    auto run = f.orchestrator.create(a_run(bakery.id, feedstock.id, {{"message", "queued"}}));

    auto moved = f.orchestrator.update(bakery.id, decode<BakeryUpdate>(json{{"region", "eu-west1"}}));
    BOOST_TEST(moved.region == "eu-west1");
    BOOST_TEST(moved.name == bakery.name);
    BOOST_TEST((f.orchestrator.bakery(bakery.id).bakery == moved));

    auto updated = f.orchestrator.update(run.id, decode<RecipeRunUpdate>(json{{"message", nullptr}, {"version", "2.0"}}));
    RecipeRun expected = run;
    expected.message.reset();
    expected.version = "2.0";
    BOOST_TEST((updated == expected));
    BOOST_TEST((f.orchestrator.recipe_run(run.id).recipe_run == expected));
    BOOST_TEST(problem_fields([&] { f.orchestrator.update(run.id, decode<RecipeRunUpdate>(json{{"bakery_id", 77}})); }) ==
               std::vector<std::string>{"bakery_id"});
}

PANGEO_FORGE_DATABASE_TEST(the_recipe_run_lifecycle_is_enforced) {
    Fixture f(database);
    auto bakery = f.orchestrator.create(a_bakery());
    auto feedstock = f.orchestrator.create(a_feedstock());
    auto run = f.orchestrator.create(a_run(bakery.id, feedstock.id, {{"status", "in_progress"}}));

    auto done = f.orchestrator.update(run.id, decode<RecipeRunUpdate>(json{{"conclusion", "success"}}));
    BOOST_TEST((done.status == RecipeRunStatus::completed));  // a conclusion completes the run
    BOOST_TEST(done.completed_at.has_value());                // and stamps it
    BOOST_TEST((f.orchestrator.recipe_run(run.id).recipe_run == done));

    BOOST_TEST(problem_fields([&] { f.orchestrator.update(run.id, decode<RecipeRunUpdate>(json{{"conclusion", "stale"}})); }) ==
               std::vector<std::string>{"conclusion"});
    BOOST_TEST(problem_fields([&] { f.orchestrator.create(a_run(bakery.id, feedstock.id, {{"status", "completed"}})); }) ==
               std::vector<std::string>{"status"});
    BOOST_TEST(problem_fields([&] {
                   f.orchestrator.create(a_run(bakery.id, feedstock.id,
                                               {{"conclusion", "failure"}, {"completed_at", "2020-12-31T00:00:00Z"}}));
               }) == std::vector<std::string>{"completed_at"});
    // Reopening takes clearing the conclusion too.
    BOOST_TEST(problem_fields([&] { f.orchestrator.update(run.id, decode<RecipeRunUpdate>(json{{"status", "queued"}})); }) ==
               std::vector<std::string>{"status"});
    auto reopened = f.orchestrator.update(run.id, decode<RecipeRunUpdate>(json{{"status", "queued"}, {"conclusion", nullptr}}));
    BOOST_TEST((reopened.status == RecipeRunStatus::queued));
    BOOST_TEST(!reopened.completed_at.has_value());  // no longer complete
    BOOST_TEST(!f.orchestrator.recipe_run(run.id).recipe_run.completed_at.has_value());
}

PANGEO_FORGE_DATABASE_TEST(bakery_names_are_unique) {
    Fixture f(database);
    auto first = f.orchestrator.create(a_bakery("ldeo"));
    auto second = f.orchestrator.create(a_bakery("gcp"));
    std::string message = test::error_message([&] { f.orchestrator.create(a_bakery("ldeo")); });
    BOOST_TEST(message == "a bakery named 'ldeo' exists already (id " + std::to_string(first.id) +
                              "): bakery names are unique");
    BOOST_CHECK_THROW(f.orchestrator.update(second.id, decode<BakeryUpdate>(json{{"name", "ldeo"}})), Conflict);
    BOOST_CHECK_NO_THROW(f.orchestrator.update(first.id, decode<BakeryUpdate>(json{{"name", "ldeo"}})));
    // And the database holds to it on its own: the constraint is there.
    std::string refused = test::error_message(
        [&] { f.pool.acquire()->execute("INSERT INTO bakery (region, name, description) VALUES ('r', 'gcp', 'd')"); });
    BOOST_TEST(!refused.empty());
    BOOST_TEST(f.orchestrator.count_bakeries() == 2);
}

PANGEO_FORGE_DATABASE_TEST(deleting_rows_in_use_is_a_conflict) {
    Fixture f(database);
    auto bakery = f.orchestrator.create(a_bakery());
    auto feedstock = f.orchestrator.create(a_feedstock());
    auto run = f.orchestrator.create(a_run(bakery.id, feedstock.id));
    std::string message = test::error_message([&] { f.orchestrator.delete_bakery(bakery.id); });
    BOOST_TEST(message.find("is used by 1 recipe run") != std::string::npos, message);
    BOOST_CHECK_THROW(f.orchestrator.delete_feedstock(feedstock.id), Conflict);
    f.orchestrator.delete_recipe_run(run.id);
    f.orchestrator.delete_bakery(bakery.id);
    f.orchestrator.delete_feedstock(feedstock.id);
    BOOST_TEST(f.orchestrator.count_bakeries() + f.orchestrator.count_feedstocks() + f.orchestrator.count_recipe_runs() == 0);
}

PANGEO_FORGE_DATABASE_TEST(deleting_a_run_deletes_the_github_apps_report_of_it) {
    Fixture f(database);
    auto run = f.orchestrator.create(a_run(f.orchestrator.create(a_bakery()).id, f.orchestrator.create(a_feedstock()).id));
    f.pool.acquire()->execute("INSERT INTO github_report (recipe_run_id, repository, pull_request, attempts) VALUES (" +
                              std::to_string(run.id) + ", 'pangeo-forge/gpcp-feedstock', 7, 0)");
    f.orchestrator.delete_recipe_run(run.id);
    BOOST_TEST(f.orchestrator.count_recipe_runs() == 0);
    BOOST_TEST(test::query_value(*f.pool.acquire(), "SELECT COUNT(*) FROM github_report") == "0");
}

PANGEO_FORGE_DATABASE_TEST(datasets_and_stats_count_what_the_service_counts) {
    Fixture f(database);
    auto bakery = f.orchestrator.create(a_bakery());
    auto feedstock = f.orchestrator.create(a_feedstock());
    auto other = f.orchestrator.create(a_feedstock());
    auto success = [](const std::string& url, bool test) {
        return json{{"conclusion", "success"}, {"dataset_type", "zarr"}, {"dataset_public_url", url}, {"is_test", test}};
    };
    f.orchestrator.create(a_run(bakery.id, feedstock.id, success("https://x/prod.zarr", false)));
    f.orchestrator.create(a_run(bakery.id, feedstock.id, success("https://x/test.zarr", true)));
    f.orchestrator.create(a_run(bakery.id, feedstock.id, {{"conclusion", "failure"}, {"dataset_public_url", "https://x/f"}}));
    f.orchestrator.create(a_run(bakery.id, feedstock.id));  // no dataset
    f.orchestrator.create(a_run(bakery.id, other.id, success("https://x/other.zarr", false)));

    auto all = f.orchestrator.datasets(feedstock.id);
    BOOST_REQUIRE_EQUAL(all.size(), 2u);
    BOOST_TEST((all[0] == Dataset{"noaa-oisst-avhrr-only", feedstock.id, DatasetType::zarr, "https://x/prod.zarr", false}));
    BOOST_TEST(f.orchestrator.datasets(feedstock.id, DatasetFilter::production).size() == 1u);
    BOOST_TEST(f.orchestrator.datasets(feedstock.id, DatasetFilter::test)[0].is_test);
    BOOST_TEST(json(all[1])["dataset_public_url"] == "https://x/test.zarr");

    BOOST_TEST(f.orchestrator.count_recipe_runs() == 5);
    BOOST_TEST(f.orchestrator.count_feedstocks() == 2);
    BOOST_TEST(f.orchestrator.count_datasets() == 4);       // every run with a URL
    BOOST_TEST(f.orchestrator.count_datasets(true) == 2);   // completed, successful, not a test
}

// Statements are prepared once per connection and kept: they must not pin a snapshot.
PANGEO_FORGE_DATABASE_TEST(kept_statements_see_what_other_connections_commit) {
    db::PoolOptions two;
    two.size = 2;
    db::Database pool(database.url(), two);
    upgraded_to_head(pool);
    Orchestrator orchestrator(pool, bundled());
    BOOST_TEST(orchestrator.bakeries().empty());  // prepares and keeps the query on connection A
    {
        auto held = pool.acquire();                    // A, the one last used, held here,
        orchestrator.create(a_bakery("made on B"));   // so that the write goes through B
    }
    auto names = orchestrator.bakeries();              // A again, with its kept statement
    BOOST_REQUIRE_EQUAL(names.size(), 1u);
    BOOST_TEST(names[0].name == "made on B");
}

namespace {

// The memory the process holds: its resident pages, from /proc/self/statm. Under ASan, the
// bytes its allocator has lent out instead: freed blocks wait in a quarantine of up to
// 256 MB, which keeps them resident.
std::int64_t held_bytes() {
#ifdef __SANITIZE_ADDRESS__
    return static_cast<std::int64_t>(__sanitizer_get_current_allocated_bytes());
#else
    std::ifstream statm("/proc/self/statm");
    std::int64_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * sysconf(_SC_PAGESIZE);
#endif
}

}  // namespace

// A kept insert that fails must not keep what was bound to it: a leak of the bound text
// would grow the process by about the message's size per failure (500 MB over the loop).
PANGEO_FORGE_DATABASE_TEST(failed_inserts_of_large_runs_leave_memory_as_it_was) {
    Fixture fixture(database);
    auto run = a_run(999, 999);  // neither exists: every insert fails on its foreign keys
    run.message = std::string(500 * 1024, 'x');
    auto attempt = [&] {
        BOOST_CHECK_THROW(fixture.orchestrator.create(run), ValidationError);
    };
    for (int i = 0; i < 50; ++i) attempt();  // statements kept, the allocator's pools filled
    auto before = held_bytes();
    for (int i = 0; i < 1000; ++i) attempt();
    auto grown = held_bytes() - before;
    BOOST_TEST(grown < 10 * 1024 * 1024, "memory held grew by " << grown << " bytes over 1,000 failed inserts");
    BOOST_TEST(fixture.orchestrator.count_recipe_runs() == 0);
    if (database.backend() == db::Backend::postgresql) {
        // Nor does the server keep a prepared statement per failure.
        auto kept = test::query_value(*fixture.pool.acquire(), "SELECT COUNT(*) FROM pg_prepared_statements");
        BOOST_TEST(std::stoi(kept) <= static_cast<int>(db::kept_statements_per_connection), kept);
    }
}
