#define BOOST_TEST_MODULE validation
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/relations.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::model;
using nlohmann::json;

namespace {

json valid_run() {
    return {{"recipe_id", "noaa-oisst"}, {"bakery_id", 1},   {"feedstock_id", 1},
            {"head_sha", "abc123"},      {"version", "1.0"}, {"started_at", "2021-01-01T00:00:00Z"}};
}

// A valid recipe run with one field replaced.
json run_with(const std::string& field, const json& value) {
    json body = valid_run();
    body[field] = value;
    return body;
}

// Decodes `body` as Form and returns the problems it was refused for.
template <class Form>
std::vector<FieldError> problems(const json& body) {
    try {
        decode<Form>(body);
    } catch (const ValidationError& error) {
        return error.errors();
    }
    BOOST_FAIL("expected a ValidationError for " << body.dump());
    return {};
}

// The single problem of `body`, checked to be at body.<field> with the given type code.
template <class Form>
FieldError only_problem(const json& body, const std::string& field, const std::string& type) {
    auto found = problems<Form>(body);
    BOOST_REQUIRE_EQUAL(found.size(), 1u);
    BOOST_TEST(found[0].loc == (std::vector<std::string>{"body", field}), boost::test_tools::per_element());
    BOOST_TEST(found[0].type == type);
    return found[0];
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_missing_required_field_is_reported) {
    for (const char* field : {"recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at"}) {
        json body = valid_run();
        body.erase(field);
        auto error = only_problem<RecipeRunCreate>(body, field, "value_error.missing");
        BOOST_TEST(error.msg == "field required");
    }
    for (const char* field : {"region", "name", "description"}) {
        json body = {{"region", "r"}, {"name", "n"}, {"description", "d"}};
        body.erase(field);
        only_problem<BakeryCreate>(body, field, "value_error.missing");
    }
    only_problem<FeedstockCreate>(json::object(), "spec", "value_error.missing");
}

BOOST_AUTO_TEST_CASE(all_problems_are_reported_at_once) {
    auto found = problems<RecipeRunCreate>(json{{"bakery_id", "one"}, {"status", "done"}, {"colour", "red"}});
    std::vector<std::string> fields;
    for (const auto& problem : found) fields.push_back(problem.loc.back());
    std::vector<std::string> expected{"recipe_id", "bakery_id", "feedstock_id", "head_sha", "version",
                                      "started_at", "status", "colour"};
    BOOST_TEST(fields == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(wrong_json_types_are_reported_per_field) {
    struct Case {
        std::string field;
        json value;
        std::string type;
    };
    const std::vector<Case> cases{
        {"recipe_id", 5, "type_error.str"},           {"bakery_id", "1", "type_error.integer"},
        {"feedstock_id", 1.5, "type_error.integer"},  {"is_test", "yes", "type_error.bool"},
        {"is_test", 1, "type_error.bool"},            {"message", json::array(), "type_error.str"},
        {"dataset_public_url", json::object(), "type_error.str"},
    };
    for (const auto& c : cases) only_problem<RecipeRunCreate>(run_with(c.field, c.value), c.field, c.type);
}

BOOST_AUTO_TEST_CASE(null_for_a_not_null_field_is_refused) {
    auto error = only_problem<RecipeRunCreate>(run_with("status", nullptr), "status", "type_error.none.not_allowed");
    BOOST_TEST(error.msg == "none is not an allowed value");
    only_problem<BakeryUpdate>(json{{"name", nullptr}}, "name", "type_error.none.not_allowed");
}

BOOST_AUTO_TEST_CASE(unknown_enum_values_list_the_permitted_ones) {
    auto error = only_problem<RecipeRunCreate>(run_with("status", "finished"), "status", "type_error.enum");
    BOOST_TEST(error.msg == "value is not a valid enumeration member; permitted: 'queued', 'in_progress', 'completed'");
    BOOST_TEST(error.ctx["enum_values"] == (json{"queued", "in_progress", "completed"}));
    only_problem<RecipeRunCreate>(run_with("conclusion", "great"), "conclusion", "type_error.enum");
    only_problem<RecipeRunCreate>(run_with("dataset_type", "netcdf"), "dataset_type", "type_error.enum");
    only_problem<FeedstockCreate>(json{{"spec", "s"}, {"provider", "gitlab"}}, "provider", "type_error.enum");
}

BOOST_AUTO_TEST_CASE(unparseable_timestamps_are_reported) {
    auto error = only_problem<RecipeRunCreate>(run_with("started_at", "yesterday"), "started_at", "value_error.datetime");
    BOOST_TEST(error.msg.find("ISO 8601") != std::string::npos);
    only_problem<RecipeRunCreate>(run_with("completed_at", 1609459200), "completed_at", "value_error.datetime");
    only_problem<RecipeRunUpdate>(json{{"completed_at", "2021-02-30T00:00:00Z"}}, "completed_at",
                                  "value_error.datetime");
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_refused) {
    auto error = only_problem<RecipeRunCreate>(run_with("colour", "red"), "colour", "value_error.extra");
    BOOST_TEST(error.msg == "extra fields not permitted");
    only_problem<BakeryUpdate>(json{{"nmae", "typo"}}, "nmae", "value_error.extra");
}

BOOST_AUTO_TEST_CASE(id_in_a_create_or_update_body_is_refused) {
    auto error = only_problem<RecipeRunCreate>(run_with("id", 1), "id", "value_error.extra");
    BOOST_TEST(error.msg.find("assigned by the database") != std::string::npos);
    only_problem<BakeryCreate>(json{{"id", 1}, {"region", "r"}, {"name", "n"}, {"description", "d"}}, "id",
                               "value_error.extra");
    only_problem<FeedstockCreate>(json{{"id", 1}, {"spec", "s"}}, "id", "value_error.extra");
    only_problem<FeedstockUpdate>(json{{"id", 2}}, "id", "value_error.extra");
}

BOOST_AUTO_TEST_CASE(version_must_be_major_dot_minor) {
    for (const char* bad : {"1", "1.0.0", "v1.0", "1.", ".1", "one.two", "", "1.0\n"}) {
        only_problem<RecipeRunCreate>(run_with("version", bad), "version", "value_error.str.regex");
    }
    only_problem<RecipeRunUpdate>(json{{"version", "latest"}}, "version", "value_error.str.regex");
    BOOST_CHECK_NO_THROW(decode<RecipeRunCreate>(run_with("version", "12.34")));
}

BOOST_AUTO_TEST_CASE(a_stored_run_without_a_version_is_read_back) {
    // The GitHub App's test runs have an empty version: a client (a worker claiming one)
    // reads them, though no client may send one.
    json row = run_with("version", "");
    row["id"] = 7;
    row["is_test"] = true;
    BOOST_TEST(decode<RecipeRun>(row).version == "");
    only_problem<RecipeRunCreate>(run_with("version", ""), "version", "value_error.str.regex");
    // What a column cannot hold is still refused.
    row["version"] = std::string("1.0\0", 4);
    BOOST_CHECK_THROW(decode<RecipeRun>(row), ValidationError);
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_an_object_is_refused) {
    for (const json& body : {json::array(), json("text"), json(nullptr), json(3)}) {
        auto found = problems<BakeryCreate>(body);
        BOOST_REQUIRE_EQUAL(found.size(), 1u);
        BOOST_TEST(found[0].loc == std::vector<std::string>{"body"});
        BOOST_TEST(found[0].type == "type_error.dict");
    }
}

BOOST_AUTO_TEST_CASE(nested_relation_errors_carry_their_full_path) {
    json body = {{"id", 1}, {"region", "r"}, {"name", "n"}, {"description", "d"},
                 {"recipe_runs", json::array({valid_run()})}};
    auto found = problems<BakeryWithRecipeRuns>(body);  // the nested run lacks its id
    BOOST_REQUIRE_EQUAL(found.size(), 1u);
    BOOST_TEST(found[0].loc == (std::vector<std::string>{"body", "recipe_runs", "0", "id"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(validation_error_detail_has_fastapi_shape) {
    try {
        decode<FeedstockCreate>(json{{"provider", 3}});
        BOOST_FAIL("expected a ValidationError");
    } catch (const ValidationError& error) {
        json detail = error.detail();
        BOOST_REQUIRE(detail["detail"].is_array());
        BOOST_TEST(detail["detail"].size() == 2u);
        BOOST_TEST(detail["detail"][0] ==
                   (json{{"loc", {"body", "spec"}}, {"msg", "field required"}, {"type", "value_error.missing"}}));
        BOOST_TEST(std::string(error.what()).find("body.spec: field required") != std::string::npos);
    }
}
