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

// Where `table` comes in a list of operations, one per table.
std::size_t position_of(const std::vector<Operation>& operations, const std::string& table) {
    for (std::size_t i = 0; i < operations.size(); ++i) {
        if (table_of(operations[i]) == table) return i;
    }
    BOOST_FAIL("no operation on " << table);
    return 0;
}

BOOST_AUTO_TEST_CASE(tables_are_created_in_foreign_key_order_and_dropped_in_reverse) {
    schema::Schema empty;
    auto declared = model::schema();
    // The tables that refer to reciperun first: they must still come after it.
    std::reverse(declared.tables.begin(), declared.tables.end());
    auto comparison = compare(declared, empty);
    BOOST_REQUIRE_EQUAL(comparison.upgrade.size(), declared.tables.size());
    auto drop = compare(empty, model::schema());
    BOOST_REQUIRE_EQUAL(drop.upgrade.size(), declared.tables.size());
    for (const char* referring : {"dispatch", "github_report"}) {
        BOOST_TEST(position_of(comparison.upgrade, "reciperun") < position_of(comparison.upgrade, referring), referring);
        BOOST_TEST(position_of(drop.upgrade, referring) < position_of(drop.upgrade, "reciperun"), referring);
    }
    for (const char* referred : {"bakery", "feedstock"}) {
        BOOST_TEST(position_of(comparison.upgrade, referred) < position_of(comparison.upgrade, "reciperun"), referred);
        BOOST_TEST(position_of(drop.upgrade, "reciperun") < position_of(drop.upgrade, referred), referred);
    }
    BOOST_TEST(drop.destructive.size() == declared.tables.size());
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
