#define BOOST_TEST_MODULE inverse
#include <boost/test/unit_test.hpp>

#include <functional>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/migrate/operations.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using schema::TypeKind;
using test::query_rows;
using test::query_value;
using Ids = std::vector<std::string>;

namespace {

schema::Column column(const std::string& name, schema::Type type, bool nullable = true,
                      std::optional<std::string> server_default = std::nullopt) {
    return schema::Column{name, std::move(type), nullable, std::move(server_default), false};
}

schema::Column identity() {
    schema::Column id = column("id", TypeKind::integer, false);
    id.autoincrement = true;
    return id;
}

// A small schema that has one of everything an operation touches: region is referred to,
// station refers to region and carries an index, a unique constraint, a NOT NULL
// timestamp, a server default and nullable columns.
schema::Schema small_schema() {
    schema::Table region{"region",
                         {identity(), column("code", schema::Type(TypeKind::varchar, 8), false),
                          column("label", TypeKind::text)},
                         {schema::primary_key_name("region"), {"id"}},
                         {},
                         {},
                         {{schema::unique_constraint_name("region", {"code"}), {"code"}}}};
    schema::Table station{"station",
                          {identity(), column("name", schema::Type(TypeKind::varchar, 80), false),
                           column("code", schema::Type(TypeKind::varchar, 16)), column("region_id", TypeKind::integer),
                           column("parent_id", TypeKind::integer),
                           column("elevation", TypeKind::integer, false, std::string("0")),
                           column("opened_at", TypeKind::timestamp, false), column("active", TypeKind::boolean, false),
                           column("note", TypeKind::text)},
                          {schema::primary_key_name("station"), {"id"}},
                          {{schema::foreign_key_name("station", {"region_id"}), {"region_id"}, "region", {"id"}}},
                          {{"ix_station_elevation", {"elevation"}, false}},
                          {{schema::unique_constraint_name("station", {"code"}), {"code"}}}};
    return schema::Schema{{region, station}};
}

// Runs operations as a revision does, outside the version table: rendered for the
// connection's dialect against the live schema, in one transaction (so without the online
// rewrites, some of which run outside one; foreign keys off on
// SQLite, as a rebuild needs).
void run(db::Connection& connection, const std::vector<Operation>& operations) {
    bool sqlite = connection.backend() == db::Backend::sqlite;
    if (sqlite) connection.execute("PRAGMA foreign_keys = OFF");
    auto schema = db::reflect(connection);
    {
        db::Transaction transaction(connection);
        for (const auto& step : render(operations, schema, connection.dialect(), RenderOptions{false})) {
            for (const auto& statement : step.statements) connection.execute(statement);
        }
        transaction.commit();
    }
    if (sqlite) connection.execute("PRAGMA foreign_keys = ON");
}

schema::Schema live(db::Connection& connection) { return schema::canonical(db::reflect(connection)); }

// The small schema, with two regions and three stations.
void build_small_database(db::Connection& connection) {
    std::vector<Operation> create;
    for (const auto& table : small_schema().tables) create.push_back(CreateTable{table});
    run(connection, create);
    connection.execute("INSERT INTO region (code, label) VALUES ('eu', 'Europe')");
    connection.execute("INSERT INTO region (code, label) VALUES ('us', NULL)");
    connection.execute("INSERT INTO station (name, code, region_id, parent_id, elevation, opened_at, active, note) "
                       "VALUES ('brest', 'BR', 1, NULL, 12, '2020-01-01 00:00:00', TRUE, 'coast')");
    connection.execute("INSERT INTO station (name, code, region_id, parent_id, elevation, opened_at, active, note) "
                       "VALUES ('boulder', NULL, 2, NULL, 1655, '2021-06-01 12:00:00', FALSE, NULL)");
    connection.execute("INSERT INTO station (name, code, region_id, parent_id, elevation, opened_at, active, note) "
                       "VALUES ('lyon', 'LY', 1, 1, 173, '2022-03-15 08:30:00', TRUE, 'river')");
}

enum class After { as_applied, renamed };

// Runs `operation` on a fresh database of `backend` holding the small schema and rows,
// then its inverse (taken against the live schema before it, as autogenerate takes it);
// the database must end with the schema it started with. Unless a rename changed names
// the reflection derives (SQLite reflects constraint names from the naming convention),
// the schema in between must be what apply() says. `then` looks at the rows afterwards.
void round_trip(db::Backend backend, const Operation& operation, After after = After::as_applied,
                const std::function<void(db::Connection&)>& then = {}) {
    test::ScratchDatabase database(backend);
    db::Database pool(database.url());
    auto lease = pool.acquire();
    build_small_database(*lease);
    const schema::Schema before = db::reflect(*lease);

    run(*lease, {operation});
    if (after == After::as_applied) {
        schema::Schema expected = before;
        apply(operation, expected);
        BOOST_TEST((live(*lease) == schema::canonical(expected)),
                   describe(operation) << " gave\n" << schema::describe(live(*lease)) << "\nexpected\n"
                                       << schema::describe(schema::canonical(expected)));
    }

    run(*lease, inverse(operation, before));
    BOOST_TEST((live(*lease) == schema::canonical(before)),
               "after " << describe(operation) << " and its inverse:\n" << schema::describe(live(*lease))
                        << "\nbefore:\n" << schema::describe(schema::canonical(before)));
    if (then) then(*lease);
}

void keeps_the_three_stations(db::Connection& connection) {
    BOOST_TEST(query_value(connection, "SELECT COUNT(*) FROM station") == "3");
}

// Every kind but execute, on the small schema: the schema-value round trip.
std::vector<Operation> one_of_each_invertible() {
    return {
        CreateTable{{"sensor",
                     {identity(), column("station_id", TypeKind::integer, false)},
                     {"sensor_pkey", {"id"}},
                     {{"sensor_station_id_fkey", {"station_id"}, "station", {"id"}}},
                     {{"ix_sensor_station_id", {"station_id"}, false}},
                     {}}},
        DropTable{"station"},
        AddColumn{"station", column("depth", TypeKind::floating), {}},
        AddColumn{"station", column("priority", TypeKind::integer, false), std::string("0")},
        DropColumn{"station", "note"},
        DropColumn{"station", "opened_at"},
        DropColumn{"station", "region_id"},
        DropColumn{"station", "elevation"},
        DropColumn{"station", "code"},
        AlterColumn{"station", "name", true, {}, {}},
        AlterColumn{"station", "name", {}, schema::Type(TypeKind::text), {}},
        AlterColumn{"station", "elevation", {}, schema::Type(TypeKind::big_integer), std::optional<std::string>{}},
        AlterColumn{"station", "note", {}, {}, std::optional<std::string>("'none'")},
        CreateForeignKey{"station", {"station_parent_id_fkey", {"parent_id"}, "station", {"id"}}},
        DropConstraint{"station", "station_region_id_fkey", ConstraintKind::foreign_key},
        CreateUniqueConstraint{"station", {"station_name_key", {"name"}}},
        DropConstraint{"station", "station_code_key", ConstraintKind::unique},
        CreateIndex{"station", {"ix_station_region_id", {"region_id"}, false}},
        DropIndex{"station", "ix_station_elevation"},
        RenameTable{"region", "area"},
        RenameColumn{"station", "region_id", "area_id"},
    };
}

std::string message_of_inverse(const Operation& operation, const schema::Schema& before) {
    return test::error_message([&] { inverse(operation, before); });
}

}  // namespace

// --- on schema values (the suite `values`, run once) ----------------------------------

BOOST_AUTO_TEST_SUITE(values)

BOOST_AUTO_TEST_CASE(every_operation_then_its_inverse_gives_the_schema_before) {
    const auto before = small_schema();
    for (const auto& operation : one_of_each_invertible()) {
        BOOST_TEST_CONTEXT(describe(operation)) {
            schema::Schema schema = before;
            apply(operation, schema);
            BOOST_TEST((schema::canonical(schema) != schema::canonical(before)));  // the operation did something
            for (const auto& undo : inverse(operation, before)) apply(undo, schema);
            BOOST_TEST((schema::canonical(schema) == schema::canonical(before)), schema::describe(schema));
        }
    }
}

BOOST_AUTO_TEST_CASE(inverses_are_the_matching_operations) {
    const auto before = small_schema();
    const auto& station = before.tables[1];
    BOOST_TEST((inverse(DropTable{"station"}, before) == std::vector<Operation>{CreateTable{station}}));
    BOOST_TEST((inverse(CreateIndex{"station", {"ix_x", {"name"}, true}}, before) ==
                std::vector<Operation>{DropIndex{"station", "ix_x"}}));
    BOOST_TEST((inverse(RenameColumn{"station", "note", "remark"}, before) ==
                std::vector<Operation>{RenameColumn{"station", "remark", "note"}}));
    BOOST_TEST((inverse(CreateUniqueConstraint{"station", {"station_name_key", {"name"}}}, before) ==
                std::vector<Operation>{DropConstraint{"station", "station_name_key", ConstraintKind::unique}}));
    BOOST_TEST((inverse(DropConstraint{"station", "station_region_id_fkey", ConstraintKind::foreign_key}, before) ==
                std::vector<Operation>{CreateForeignKey{"station", station.foreign_keys[0]}}));
}

BOOST_AUTO_TEST_CASE(alter_column_inverse_restores_only_what_it_changes) {
    const auto before = small_schema();
    auto undo = inverse(AlterColumn{"station", "elevation", true, {}, std::optional<std::string>{}}, before);
    BOOST_TEST((undo == std::vector<Operation>{
                            AlterColumn{"station", "elevation", false, {}, std::optional<std::string>("0")}}));
}

BOOST_AUTO_TEST_CASE(drop_column_inverse_re_adds_the_column_with_a_backfill_and_what_used_it) {
    const auto before = small_schema();
    const auto& station = before.tables[1];
    auto opened_at = *station.find_column("opened_at");
    BOOST_TEST((inverse(DropColumn{"station", "opened_at"}, before) ==
                std::vector<Operation>{AddColumn{"station", opened_at, std::string("'1970-01-01 00:00:00'")}}));
    // A server default fills the rows in itself: no backfill.
    auto elevation = *station.find_column("elevation");
    BOOST_TEST((inverse(DropColumn{"station", "elevation"}, before) ==
                std::vector<Operation>{AddColumn{"station", elevation, std::nullopt},
                                       CreateIndex{"station", station.indexes[0]}}));
    auto region_id = *station.find_column("region_id");
    BOOST_TEST((inverse(DropColumn{"station", "region_id"}, before) ==
                std::vector<Operation>{AddColumn{"station", region_id, std::nullopt},
                                       CreateForeignKey{"station", station.foreign_keys[0]}}));
}

BOOST_AUTO_TEST_CASE(neutral_backfills_are_zeros_of_the_type) {
    BOOST_TEST(*neutral_backfill(column("b", TypeKind::boolean, false)) == "false");
    BOOST_TEST(*neutral_backfill(column("i", TypeKind::big_integer, false)) == "0");
    BOOST_TEST(*neutral_backfill(column("s", TypeKind::text, false)) == "''");
    BOOST_TEST(*neutral_backfill(column("t", TypeKind::timestamp, false)) == "'1970-01-01 00:00:00'");
    BOOST_TEST(!neutral_backfill(column("n", TypeKind::text, true)).has_value());
    BOOST_TEST(!neutral_backfill(column("d", TypeKind::integer, false, std::string("1"))).has_value());
    BOOST_TEST(!neutral_backfill(column("j", schema::Type::named("jsonb"), false)).has_value());
}

BOOST_AUTO_TEST_CASE(execute_has_no_inverse_and_says_to_write_the_downgrade) {
    std::string message = message_of_inverse(Execute{"UPDATE station SET active = TRUE", {}, {}}, small_schema());
    BOOST_TEST(message ==
               "cannot invert execute UPDATE station SET active = TRUE: raw SQL has no inverse; write the downgrade's "
               "operations by hand");
}

BOOST_AUTO_TEST_CASE(what_is_missing_from_the_schema_before_is_named) {
    const auto before = small_schema();
    BOOST_TEST(message_of_inverse(DropTable{"sensor"}, before) == "cannot invert drop_table sensor: there is no table sensor");
    BOOST_TEST(message_of_inverse(DropColumn{"station", "depth"}, before) ==
               "cannot invert drop_column station.depth: there is no column station.depth");
    BOOST_TEST(message_of_inverse(AlterColumn{"region", "depth", true, {}, {}}, before) ==
               "cannot invert alter_column region.depth: there is no column region.depth");
    BOOST_TEST(message_of_inverse(DropConstraint{"station", "station_x_fkey", ConstraintKind::foreign_key}, before) ==
               "cannot invert drop_constraint station_x_fkey on station: there is no foreign key station_x_fkey");
    BOOST_TEST(message_of_inverse(DropConstraint{"station", "station_x_key", ConstraintKind::unique}, before) ==
               "cannot invert drop_constraint station_x_key on station: there is no unique constraint station_x_key");
    BOOST_TEST(message_of_inverse(DropIndex{"station", "ix_x"}, before) ==
               "cannot invert drop_index ix_x on station: there is no index ix_x");
    BOOST_TEST(message_of_inverse(AddColumn{"nowhere", column("x", TypeKind::text), {}}, before) ==
               "cannot invert add_column nowhere.x: there is no table nowhere");
}

BOOST_AUTO_TEST_SUITE_END()

// --- on a live database, each backend -----------------------------------------------

PANGEO_FORGE_DATABASE_TEST(create_table_then_drop_table) {
    round_trip(database.backend(), one_of_each_invertible()[0]);
}

PANGEO_FORGE_DATABASE_TEST(drop_table_then_create_table_with_its_keys_and_indexes) {
    round_trip(database.backend(), DropTable{"station"}, After::as_applied, [](db::Connection& connection) {
        BOOST_TEST(query_value(connection, "SELECT COUNT(*) FROM station") == "0");  // its rows are not restored
    });
}

PANGEO_FORGE_DATABASE_TEST(add_nullable_column_then_drop_it) {
    round_trip(database.backend(), AddColumn{"station", column("depth", TypeKind::floating), {}}, After::as_applied,
               keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(add_not_null_column_with_backfill_then_drop_it) {
    round_trip(database.backend(), AddColumn{"station", column("priority", TypeKind::integer, false), std::string("0")},
               After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(drop_nullable_column_then_add_it_back_empty) {
    round_trip(database.backend(), DropColumn{"station", "note"}, After::as_applied, [](db::Connection& connection) {
        BOOST_TEST(query_value(connection, "SELECT COUNT(*) FROM station WHERE note IS NULL") == "3");
    });
}

PANGEO_FORGE_DATABASE_TEST(drop_not_null_columns_then_add_them_back_backfilled) {
    round_trip(database.backend(), DropColumn{"station", "opened_at"}, After::as_applied,
               [](db::Connection& connection) {
                   BOOST_TEST(query_value(connection, "SELECT COUNT(*) FROM station WHERE opened_at = "
                                                      "'1970-01-01 00:00:00'") == "3");
               });
    round_trip(database.backend(), DropColumn{"station", "active"}, After::as_applied, [](db::Connection& connection) {
        BOOST_TEST(query_value(connection, "SELECT COUNT(*) FROM station WHERE active = FALSE") == "3");
    });
}

PANGEO_FORGE_DATABASE_TEST(drop_column_with_a_server_default_and_an_index_then_add_both_back) {
    round_trip(database.backend(), DropColumn{"station", "elevation"}, After::as_applied,
               [](db::Connection& connection) {
                   BOOST_TEST(query_value(connection, "SELECT COUNT(*) FROM station WHERE elevation = 0") == "3");
               });
}

PANGEO_FORGE_DATABASE_TEST(drop_column_under_a_foreign_key_then_add_both_back) {
    round_trip(database.backend(), DropColumn{"station", "region_id"}, After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(drop_column_under_a_unique_constraint_then_add_both_back) {
    round_trip(database.backend(), DropColumn{"station", "code"}, After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(alter_nullability_then_back) {
    round_trip(database.backend(), AlterColumn{"station", "name", true, {}, {}}, After::as_applied,
               keeps_the_three_stations);
    round_trip(database.backend(), AlterColumn{"region", "code", true, {}, {}});
}

PANGEO_FORGE_DATABASE_TEST(alter_type_then_back) {
    round_trip(database.backend(), AlterColumn{"station", "name", {}, schema::Type(TypeKind::text), {}},
               After::as_applied, [](db::Connection& connection) {
                   BOOST_TEST(query_rows(connection, "SELECT name FROM station ORDER BY id") ==
                                  (Ids{"brest", "boulder", "lyon"}),
                              boost::test_tools::per_element());
               });
    round_trip(database.backend(), AlterColumn{"station", "elevation", {}, schema::Type(TypeKind::big_integer), {}},
               After::as_applied, [](db::Connection& connection) {
                   BOOST_TEST(query_rows(connection, "SELECT elevation FROM station ORDER BY id") ==
                                  (Ids{"12", "1655", "173"}),
                              boost::test_tools::per_element());
               });
}

PANGEO_FORGE_DATABASE_TEST(alter_server_default_then_back) {
    round_trip(database.backend(), AlterColumn{"station", "elevation", {}, {}, std::optional<std::string>{}});
    round_trip(database.backend(), AlterColumn{"station", "note", {}, {}, std::optional<std::string>("'none'")});
}

PANGEO_FORGE_DATABASE_TEST(alter_several_fields_then_back) {
    round_trip(database.backend(), AlterColumn{"station", "elevation", true, schema::Type(TypeKind::big_integer),
                                               std::optional<std::string>{}},
               After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(create_foreign_key_then_drop_it) {
    round_trip(database.backend(),
               CreateForeignKey{"station", {"station_parent_id_fkey", {"parent_id"}, "station", {"id"}}},
               After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(drop_foreign_key_then_create_it) {
    round_trip(database.backend(), DropConstraint{"station", "station_region_id_fkey", ConstraintKind::foreign_key},
               After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(create_unique_constraint_then_drop_it) {
    round_trip(database.backend(), CreateUniqueConstraint{"station", {"station_name_key", {"name"}}},
               After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(drop_unique_constraint_then_create_it) {
    round_trip(database.backend(), DropConstraint{"station", "station_code_key", ConstraintKind::unique},
               After::as_applied, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(create_index_then_drop_it) {
    round_trip(database.backend(), CreateIndex{"station", {"ix_station_region_id", {"region_id"}, false}});
    round_trip(database.backend(), CreateIndex{"station", {"ix_station_name", {"name"}, true}});
}

PANGEO_FORGE_DATABASE_TEST(drop_index_then_create_it) {
    round_trip(database.backend(), DropIndex{"station", "ix_station_elevation"});
}

PANGEO_FORGE_DATABASE_TEST(rename_referred_table_then_back) {
    round_trip(database.backend(), RenameTable{"region", "area"}, After::renamed, keeps_the_three_stations);
}

PANGEO_FORGE_DATABASE_TEST(rename_column_under_a_foreign_key_then_back) {
    round_trip(database.backend(), RenameColumn{"station", "region_id", "area_id"}, After::renamed,
               keeps_the_three_stations);
}
