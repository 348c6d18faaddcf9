#define BOOST_TEST_MODULE compare
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "pangeo_forge/migrate/autogenerate.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "support/query.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using Ids = std::vector<std::string>;
using test::mentions;

BOOST_AUTO_TEST_CASE(a_drop_and_an_add_of_one_type_note_a_possible_rename) {
    auto live = model::schema();
    auto declared = model::schema();
    for (auto& column : declared.tables[0].columns) {
        if (column.name == "description") column.name = "summary";
    }
    auto comparison = compare(declared, live);
    BOOST_TEST(comparison.upgrade.size() == 2u);
    BOOST_TEST(mentions(comparison.notes, "column description is dropped and summary added, both varchar"));
    BOOST_TEST(mentions(comparison.notes, "\"op\": \"rename_column\", \"table\": \"bakery\", \"column\": "
                                          "\"description\", \"new_name\": \"summary\""));
    BOOST_TEST(comparison.destructive == Ids{"drop_column bakery.description deletes its values"});
}

BOOST_AUTO_TEST_CASE(tables_are_created_in_foreign_key_order_and_dropped_in_reverse) {
    schema::Schema empty;
    auto declared = model::schema();
    std::reverse(declared.tables.begin(), declared.tables.end());  // dispatch first: it must still come last
    auto comparison = compare(declared, empty);
    BOOST_REQUIRE_EQUAL(comparison.upgrade.size(), 4u);
    BOOST_TEST(table_of(comparison.upgrade[2]) == "reciperun");
    BOOST_TEST(table_of(comparison.upgrade[3]) == "dispatch");
    auto drop = compare(empty, model::schema());
    BOOST_TEST(table_of(drop.upgrade[0]) == "dispatch");
    BOOST_TEST(table_of(drop.upgrade[1]) == "reciperun");
    BOOST_TEST(drop.destructive.size() == 4u);
}

BOOST_AUTO_TEST_CASE(narrowing_a_type_is_destructive_widening_is_not) {
    auto live = model::schema();
    auto narrowed = model::schema();
    narrowed.tables[0].columns[1].type = schema::Type(schema::TypeKind::varchar, 8);
    BOOST_TEST(compare(narrowed, live).destructive.size() == 1u);
    auto widened = model::schema();
    widened.tables[0].columns[1].type = schema::Type(schema::TypeKind::text);
    BOOST_TEST(compare(widened, live).destructive.empty());
    BOOST_TEST(compare(widened, live).upgrade.size() == 1u);
}
