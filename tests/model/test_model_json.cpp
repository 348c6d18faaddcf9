#define BOOST_TEST_MODULE model_json
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/model/relations.hpp"

using namespace pangeo_forge::model;
using nlohmann::json;

namespace {

const Timestamp started{std::chrono::seconds(1609459200)};  // 2021-01-01T00:00:00Z

Bakery sample_bakery() {
    Bakery bakery;
    bakery.id = 7;
    bakery.region = "us-central1";
    bakery.name = "pangeo-ldeo-nsf-earthcube";
    bakery.description = "A great bakery to test with!";
    return bakery;
}

Feedstock sample_feedstock() {
    Feedstock feedstock;
    feedstock.id = 3;
    feedstock.spec = "pangeo-forge/noaa-oisst-avhrr-only-feedstock";
    return feedstock;
}

RecipeRun sample_run() {
    RecipeRun run;
    run.id = 11;
    run.recipe_id = "noaa-oisst-avhrr-only";
    run.bakery_id = 7;
    run.feedstock_id = 3;
    run.head_sha = "035ee3e8d8d8c6a8a8e9dcbd4bb8e4d0f6f7f1aa";
    run.version = "1.0";
    run.started_at = started;
    run.completed_at = started + std::chrono::minutes(90) + std::chrono::microseconds(42);
    run.conclusion = RecipeRunConclusion::success;
    run.status = RecipeRunStatus::completed;
    run.message = "done";
    run.is_test = true;
    run.dataset_type = DatasetType::zarr;
    run.dataset_public_url = "https://example.org/noaa-oisst.zarr";
    return run;
}

template <class Form>
void check_round_trip(const Form& value) {
    json encoded = value;
    BOOST_TEST((decode<Form>(encoded) == value), encoded.dump());
    BOOST_TEST((decode<Form>(json::parse(encoded.dump())) == value));
}

}  // namespace

BOOST_AUTO_TEST_CASE(bakery_forms_round_trip) {
    check_round_trip(sample_bakery());
    check_round_trip(BakeryCreate{static_cast<BakeryBase>(sample_bakery())});
}

BOOST_AUTO_TEST_CASE(feedstock_forms_round_trip) {
    check_round_trip(sample_feedstock());
    check_round_trip(FeedstockCreate{static_cast<FeedstockBase>(sample_feedstock())});
}

BOOST_AUTO_TEST_CASE(recipe_run_forms_round_trip) {
    check_round_trip(sample_run());
    check_round_trip(RecipeRunCreate{static_cast<RecipeRunBase>(sample_run())});
    RecipeRun sparse;
    sparse.id = 1;
    sparse.recipe_id = "r";
    sparse.head_sha = "abc";
    sparse.version = "0.1";
    sparse.started_at = started;
    check_round_trip(sparse);  // every nullable field null
}

BOOST_AUTO_TEST_CASE(relation_forms_round_trip) {
    check_round_trip(BakeryWithRecipeRuns{sample_bakery(), {sample_run(), sample_run()}});
    check_round_trip(FeedstockWithRecipeRuns{sample_feedstock(), {}});
    check_round_trip(RecipeRunWithRelations{sample_run(), sample_bakery(), sample_feedstock()});
}

BOOST_AUTO_TEST_CASE(recipe_run_json_uses_the_python_spellings) {
    json encoded = sample_run();
    BOOST_TEST(encoded["status"] == "completed");
    BOOST_TEST(encoded["conclusion"] == "success");
    BOOST_TEST(encoded["dataset_type"] == "zarr");
    BOOST_TEST(encoded["started_at"] == "2021-01-01T00:00:00Z");
    BOOST_TEST(encoded["completed_at"] == "2021-01-01T01:30:00.000042Z");
    BOOST_TEST(encoded.size() == 14u);
}

BOOST_AUTO_TEST_CASE(relations_sit_beside_the_row_fields) {
    json bakery = BakeryWithRecipeRuns{sample_bakery(), {sample_run()}};
    BOOST_TEST(bakery["name"] == "pangeo-ldeo-nsf-earthcube");
    BOOST_TEST(bakery["recipe_runs"][0]["id"] == 11);
    json run = RecipeRunWithRelations{sample_run(), sample_bakery(), sample_feedstock()};
    BOOST_TEST(run["bakery"]["region"] == "us-central1");
    BOOST_TEST(run["feedstock"]["provider"] == "github");
    BOOST_TEST(run["recipe_id"] == "noaa-oisst-avhrr-only");
}

BOOST_AUTO_TEST_CASE(create_applies_the_defaults) {
    auto run = decode<RecipeRunCreate>(json{{"recipe_id", "r"},
                                            {"bakery_id", 1},
                                            {"feedstock_id", 2},
                                            {"head_sha", "abc"},
                                            {"version", "1.0"},
                                            {"started_at", "2021-01-01T00:00:00Z"}});
    BOOST_TEST((run.status == RecipeRunStatus::queued));
    BOOST_TEST(run.is_test == false);
    BOOST_TEST(!run.conclusion.has_value());
    BOOST_TEST(!run.completed_at.has_value());
    auto feedstock = decode<FeedstockCreate>(json{{"spec", "pangeo-forge/x-feedstock"}});
    BOOST_TEST((feedstock.provider == RepoProvider::github));
}

BOOST_AUTO_TEST_CASE(update_knows_which_fields_were_sent) {
    auto update = decode<RecipeRunUpdate>(json{{"status", "in_progress"}, {"message", nullptr}});
    BOOST_TEST((update.status == RecipeRunStatus::in_progress));
    BOOST_TEST(update.message.has_value());    // sent ...
    BOOST_TEST(!update.message->has_value());  // ... as null
    BOOST_TEST(!update.conclusion.has_value());  // not sent
    BOOST_TEST(!update.recipe_id.has_value());
    BOOST_TEST(json(update) == (json{{"status", "in_progress"}, {"message", nullptr}}));
}

BOOST_AUTO_TEST_CASE(apply_update_changes_only_the_sent_fields) {
    RecipeRun run = sample_run();
    apply_update(run, decode<RecipeRunUpdate>(json{{"message", nullptr}, {"version", "2.1"}}));
    RecipeRun expected = sample_run();
    expected.message.reset();
    expected.version = "2.1";
    BOOST_TEST((run == expected));

    Bakery bakery = sample_bakery();
    apply_update(bakery, decode<BakeryUpdate>(json{{"description", "moved"}}));
    BOOST_TEST(bakery.description == "moved");
    BOOST_TEST(bakery.name == sample_bakery().name);

    Feedstock feedstock = sample_feedstock();
    apply_update(feedstock, decode<FeedstockUpdate>(json::object()));
    BOOST_TEST((feedstock == sample_feedstock()));
}

BOOST_AUTO_TEST_CASE(update_forms_round_trip) {
    check_round_trip(decode<RecipeRunUpdate>(json{{"completed_at", "2021-01-01T00:00:00Z"}, {"conclusion", nullptr}}));
    check_round_trip(decode<BakeryUpdate>(json{{"name", "n"}}));
    check_round_trip(decode<FeedstockUpdate>(json{{"provider", "github"}}));
}

BOOST_AUTO_TEST_CASE(enums_spell_and_parse_every_value) {
    BOOST_TEST(enum_names<RecipeRunConclusion>().size() == 8u);
    for (auto name : enum_names<RecipeRunConclusion>()) {
        BOOST_TEST(to_string(*parse_enum<RecipeRunConclusion>(name)) == name);
    }
    BOOST_TEST(to_string(RecipeRunStatus::in_progress) == "in_progress");
    BOOST_TEST(to_string(RecipeRunConclusion::timed_out) == "timed_out");
    BOOST_TEST(!parse_enum<DatasetType>("ZARR").has_value());
}
