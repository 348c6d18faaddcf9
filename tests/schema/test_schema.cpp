#define BOOST_TEST_MODULE schema
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "pangeo_forge/schema/schema.hpp"

using namespace pangeo_forge;
using nlohmann::json;

namespace {

// The locations of a ValidationError's problems, as "a.b.c" strings.
std::vector<std::string> error_paths(const ValidationError& error) {
    std::vector<std::string> paths;
    for (const auto& field : error.errors()) {
        std::string path;
        for (const auto& part : field.loc) path += (path.empty() ? "" : ".") + part;
        paths.push_back(path);
    }
    return paths;
}

}  // namespace

BOOST_AUTO_TEST_CASE(type_names_round_trip) {
    for (const char* text : {"integer", "bigint", "varchar", "varchar(32)", "text", "boolean", "timestamp", "float"}) {
        auto type = schema::parse_type(text);
        BOOST_REQUIRE_MESSAGE(type, text);
        BOOST_TEST(schema::to_string(*type) == text);
    }
    BOOST_TEST(schema::parse_type("varchar(32)")->length.value() == 32);
}

BOOST_AUTO_TEST_CASE(malformed_type_names_are_refused) {
    for (const char* text : {"", "varchar(", "varchar()", "varchar(x)", "integer(4)", "VARCHAR", "blob", "varchar(32"}) {
        BOOST_TEST(!schema::parse_type(text).has_value(), text);
    }
}

BOOST_AUTO_TEST_CASE(naming_convention_follows_postgresql_defaults) {
    BOOST_TEST(schema::primary_key_name("bakery") == "bakery_pkey");
    BOOST_TEST(schema::foreign_key_name("reciperun", {"bakery_id"}) == "reciperun_bakery_id_fkey");
    BOOST_TEST(schema::unique_constraint_name("bakery", {"name"}) == "bakery_name_key");
    BOOST_TEST(schema::index_name("reciperun", {"recipe_id", "version"}) == "ix_reciperun_recipe_id_version");
}

BOOST_AUTO_TEST_CASE(schema_json_round_trip_preserves_every_part) {
    auto declared = model::schema();
    declared.tables[0].indexes.push_back({"ix_bakery_region", {"region"}, false});
    declared.tables[0].unique_constraints.push_back({"bakery_name_key", {"name"}});
    declared.tables[0].columns[1].server_default = "'us-central1'";
    json encoded = declared;
    BOOST_TEST((schema::schema_from_json(encoded) == declared));
    BOOST_TEST((schema::schema_from_json(json::parse(encoded.dump())) == declared));
}

BOOST_AUTO_TEST_CASE(equality_sees_a_changed_nullability) {
    auto a = model::schema();
    auto b = model::schema();
    BOOST_TEST((a == b));
    b.tables[2].columns[9].nullable = !b.tables[2].columns[9].nullable;
    BOOST_TEST((a != b));
}

BOOST_AUTO_TEST_CASE(find_table_and_column_by_name) {
    auto declared = model::schema();
    const auto* run = declared.find_table("reciperun");
    BOOST_REQUIRE(run != nullptr);
    BOOST_TEST((run->find_column("is_test")->type.kind == schema::TypeKind::boolean));
    BOOST_TEST(run->find_column("missing") == nullptr);
    BOOST_TEST(declared.find_table("apikey") == nullptr);
}

BOOST_AUTO_TEST_CASE(malformed_schema_json_names_each_path) {
    json bad = {{"tables",
                 {{{"name", "t"},
                   {"columns",
                    {{{"name", "a"}, {"type", "varchar(x)"}},
                     {{"type", "integer"}, {"nullable", "no"}},
                     {{"name", "c"}, {"type", "text"}, {"colour", "red"}}}}}}}};
    try {
        schema::schema_from_json(bad);
        BOOST_FAIL("expected a ValidationError");
    } catch (const ValidationError& error) {
        auto paths = error_paths(error);
        std::vector<std::string> expected{"tables.0.columns.0.type", "tables.0.columns.1.name",
                                          "tables.0.columns.1.nullable", "tables.0.columns.2.colour"};
        BOOST_TEST(paths == expected, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(schema_json_must_be_an_object) {
    BOOST_CHECK_THROW(schema::schema_from_json(json::array()), ValidationError);
    BOOST_CHECK_THROW(schema::table_from_json(json{{"name", "t"}, {"columns", "a"}}), ValidationError);
}

BOOST_AUTO_TEST_CASE(describe_lists_columns_and_foreign_keys) {
    std::string text = schema::describe(model::schema());
    BOOST_TEST(text.find("reciperun\n") != std::string::npos);
    BOOST_TEST(text.find("-> bakery.id (reciperun_bakery_id_fkey)") != std::string::npos);
    BOOST_TEST(text.find(" \n") == std::string::npos);  // no trailing blanks
}
