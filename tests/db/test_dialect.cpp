#define BOOST_TEST_MODULE dialect
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/db/dialect.hpp"
#include "pangeo_forge/error.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::db;
using schema::Type;
using schema::TypeKind;

BOOST_AUTO_TEST_CASE(identifiers_are_double_quoted_with_quotes_doubled) {
    for (auto backend : {Backend::sqlite, Backend::postgresql}) {
        Dialect dialect(backend);
        BOOST_TEST(dialect.quote("reciperun") == "\"reciperun\"");
        BOOST_TEST(dialect.quote("order") == "\"order\"");
        BOOST_TEST(dialect.quote("a\"b") == "\"a\"\"b\"");
        BOOST_TEST(dialect.quote("x\"; DROP TABLE bakery; --") == "\"x\"\"; DROP TABLE bakery; --\"");
        BOOST_CHECK_THROW(dialect.quote(""), Error);
        BOOST_CHECK_THROW(dialect.quote(std::string("a\0b", 3)), Error);
    }
}

BOOST_AUTO_TEST_CASE(type_names_follow_each_dialect) {
    Dialect sqlite(Backend::sqlite);
    Dialect postgres(Backend::postgresql);
    BOOST_TEST(sqlite.type_name(Type{TypeKind::timestamp, {}}) == "DATETIME");
    BOOST_TEST(postgres.type_name(Type{TypeKind::timestamp, {}}) == "TIMESTAMP WITHOUT TIME ZONE");
    BOOST_TEST(postgres.type_name(Type{TypeKind::varchar, 32}) == "VARCHAR(32)");
    BOOST_TEST(sqlite.type_name(Type{TypeKind::varchar, {}}) == "VARCHAR");
    BOOST_TEST(postgres.type_name(Type{TypeKind::floating, {}}) == "DOUBLE PRECISION");
    BOOST_TEST(sqlite.type_name(Type{TypeKind::boolean, {}}) == "BOOLEAN");
    BOOST_TEST(postgres.type_name(Type{TypeKind::big_integer, {}}) == "BIGINT");
}

BOOST_AUTO_TEST_CASE(boolean_literals_and_capabilities) {
    BOOST_TEST(Dialect(Backend::sqlite).boolean_literal(false) == "0");
    BOOST_TEST(Dialect(Backend::postgresql).boolean_literal(true) == "TRUE");
    BOOST_TEST(!Dialect(Backend::sqlite).can_alter_in_place());
    BOOST_TEST(Dialect(Backend::postgresql).can_alter_in_place());
    BOOST_TEST(Dialect(Backend::postgresql).name() == "postgresql");
}
