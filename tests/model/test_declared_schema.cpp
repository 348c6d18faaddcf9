#define BOOST_TEST_MODULE declared_schema
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "pangeo_forge/model/schema.hpp"

using namespace pangeo_forge;

namespace {

std::vector<std::string> column_names(const schema::Table& table) {
    std::vector<std::string> names;
    for (const auto& column : table.columns) names.push_back(column.name);
    return names;
}

std::vector<std::string> nullable_columns(const schema::Table& table) {
    std::vector<std::string> names;
    for (const auto& column : table.columns) {
        if (column.nullable) names.push_back(column.name);
    }
    return names;
}

}  // namespace

BOOST_AUTO_TEST_CASE(declares_the_four_tables_in_foreign_key_order) {
    auto declared = model::schema();
    std::vector<std::string> names;
    for (const auto& table : declared.tables) names.push_back(table.name);
    BOOST_TEST(names == (std::vector<std::string>{"bakery", "feedstock", "reciperun", "dispatch", "github_delivery", "github_report"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bakery_and_feedstock_columns_match_the_spec) {
    auto declared = model::schema();
    BOOST_TEST(column_names(*declared.find_table("bakery")) ==
                   (std::vector<std::string>{"id", "region", "name", "description"}),
               boost::test_tools::per_element());
    BOOST_TEST(column_names(*declared.find_table("feedstock")) == (std::vector<std::string>{"id", "spec", "provider"}),
               boost::test_tools::per_element());
    BOOST_TEST(nullable_columns(*declared.find_table("bakery")).empty());
    BOOST_TEST(nullable_columns(*declared.find_table("feedstock")).empty());
}

BOOST_AUTO_TEST_CASE(reciperun_nullability_matches_the_spec) {
    const auto run = *model::schema().find_table("reciperun");
    BOOST_TEST(run.columns.size() == 14u);
    BOOST_TEST(nullable_columns(run) == (std::vector<std::string>{"completed_at", "conclusion", "message",
                                                                 "dataset_type", "dataset_public_url"}),
               boost::test_tools::per_element());
    BOOST_TEST((run.find_column("started_at")->type.kind == schema::TypeKind::timestamp));
    BOOST_TEST((run.find_column("is_test")->type.kind == schema::TypeKind::boolean));
}

BOOST_AUTO_TEST_CASE(every_table_has_an_autoincrement_id_primary_key) {
    for (const auto& table : model::schema().tables) {
        BOOST_TEST(table.primary_key.columns == std::vector<std::string>{"id"});
        BOOST_TEST(table.primary_key.name == table.name + "_pkey");
        BOOST_TEST(table.find_column("id")->autoincrement);
        BOOST_TEST(!table.find_column("id")->nullable);
    }
}

BOOST_AUTO_TEST_CASE(reciperun_foreign_keys_carry_postgresql_names) {
    const auto run = *model::schema().find_table("reciperun");
    BOOST_REQUIRE_EQUAL(run.foreign_keys.size(), 2u);
    BOOST_TEST(run.foreign_keys[0].name == "reciperun_bakery_id_fkey");
    BOOST_TEST(run.foreign_keys[0].referred_table == "bakery");
    BOOST_TEST(run.foreign_keys[1].name == "reciperun_feedstock_id_fkey");
    BOOST_TEST(run.foreign_keys[1].referred_columns == std::vector<std::string>{"id"});
}
