#define BOOST_TEST_MODULE operations
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/migrate/operations.hpp"
#include "pangeo_forge/model/schema.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using nlohmann::json;

namespace {

const db::Dialect sqlite(db::Backend::sqlite);
const db::Dialect postgres(db::Backend::postgresql);

schema::Column column(const std::string& name, schema::TypeKind kind, bool nullable = true) {
    return schema::Column{name, schema::Type{kind, {}}, nullable, std::nullopt, false};
}

std::vector<Operation> one_of_each() {
    auto declared = model::schema();
    return {
        CreateTable{declared.tables[0]},
        DropTable{"bakery"},
        AddColumn{"reciperun", column("is_test", schema::TypeKind::boolean, false), std::string("false")},
        DropColumn{"reciperun", "message"},
        AlterColumn{"reciperun", "status", false, schema::Type{schema::TypeKind::text, {}}, std::optional<std::string>{}},
        CreateForeignKey{"reciperun", declared.tables[2].foreign_keys[0]},
        CreateUniqueConstraint{"bakery", {"bakery_name_key", {"name"}}},
        DropConstraint{"bakery", "bakery_name_key", ConstraintKind::unique},
        CreateIndex{"reciperun", {"ix_reciperun_recipe_id", {"recipe_id"}, false}},
        DropIndex{"reciperun", "ix_reciperun_recipe_id"},
        RenameTable{"bakery", "bakeries"},
        RenameColumn{"bakery", "region", "cloud_region"},
        Execute{"UPDATE reciperun SET status = 'queued'", std::nullopt, std::string("UPDATE reciperun SET status = 'q'")},
    };
}

std::string joined(const std::vector<std::string>& statements) {
    std::string out;
    for (const auto& s : statements) out += s + ";\n";
    return out;
}

std::vector<std::string> statements_of(const std::vector<Step>& steps) {
    std::vector<std::string> out;
    for (const auto& step : steps) out.insert(out.end(), step.statements.begin(), step.statements.end());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_operation_round_trips_through_json) {
    for (const auto& operation : one_of_each()) {
        json encoded = to_json(operation);
        BOOST_TEST((operation_from_json(encoded) == operation), encoded.dump());
    }
}

BOOST_AUTO_TEST_CASE(malformed_operations_name_the_field) {
    try {
        operation_from_json(json{{"op", "add_column"}, {"table", 3}, {"column", {{"name", "x"}, {"type", "blob"}}}},
                            {"upgrade", "1"});
        BOOST_FAIL("expected a ValidationError");
    } catch (const ValidationError& error) {
        std::vector<std::string> paths;
        for (const auto& field : error.errors()) {
            std::string path;
            for (const auto& part : field.loc) path += (path.empty() ? "" : ".") + part;
            paths.push_back(path);
        }
        BOOST_TEST(paths == (std::vector<std::string>{"upgrade.1.table", "upgrade.1.column.type"}),
                   boost::test_tools::per_element());
    }
    BOOST_CHECK_THROW(operation_from_json(json{{"op", "drop_constraint"}, {"table", "t"}, {"name", "n"},
                                               {"type", "check"}}),
                      ValidationError);
    BOOST_CHECK_THROW(operation_from_json(json{{"table", "t"}}), ValidationError);
    // "online" where there is no rewrite to turn off says which operations take it.
    try {
        operation_from_json(json{{"op", "drop_table"}, {"table", "t"}, {"online", false}}, {"upgrade", "0"});
        BOOST_FAIL("expected a ValidationError");
    } catch (const ValidationError& error) {
        BOOST_TEST_REQUIRE(error.errors().size() == 1u);
        BOOST_TEST(error.errors()[0].loc == (std::vector<std::string>{"upgrade", "0", "online"}),
                   boost::test_tools::per_element());
        BOOST_TEST(error.errors()[0].msg.find("only create_index, drop_index") != std::string::npos,
                   error.errors()[0].msg);
    }
    auto index = operation_from_json(json{{"op", "create_index"}, {"table", "t"}, {"online", false},
                                          {"index", {{"name", "ix_t_a"}, {"columns", {"a"}}}}});
    BOOST_TEST(!std::get<CreateIndex>(index).online);
}

BOOST_AUTO_TEST_CASE(operations_that_do_not_fit_the_schema_say_why) {
    auto schema = model::schema();
    auto message_of = [&](const Operation& operation) {
        try {
            apply(operation, schema);
        } catch (const MigrationError& error) {
            return std::string(error.what());
        }
        return std::string();
    };
    BOOST_TEST(message_of(DropTable{"apikey"}) == "drop_table apikey: there is no table apikey");
    BOOST_TEST(message_of(AddColumn{"bakery", column("name", schema::TypeKind::varchar), {}}) ==
               "add_column bakery.name: column bakery.name exists already");
    BOOST_TEST(message_of(DropColumn{"bakery", "colour"}) == "drop_column bakery.colour: there is no column bakery.colour");
    BOOST_TEST(message_of(DropConstraint{"reciperun", "nope_fkey", ConstraintKind::foreign_key}) ==
               "drop_constraint nope_fkey on reciperun: there is no foreign key nope_fkey");
}

BOOST_AUTO_TEST_CASE(renames_follow_through_keys_and_references) {
    auto schema = model::schema();
    apply(RenameTable{"bakery", "bakeries"}, schema);
    apply(RenameColumn{"bakeries", "id", "bakery_id"}, schema);
    const auto& run = *schema.find_table("reciperun");
    BOOST_TEST(run.foreign_keys[0].referred_table == "bakeries");
    BOOST_TEST(run.foreign_keys[0].referred_columns == std::vector<std::string>{"bakery_id"});
    BOOST_TEST(schema.find_table("bakeries")->primary_key.columns == std::vector<std::string>{"bakery_id"});
}

BOOST_AUTO_TEST_CASE(postgresql_alters_in_place) {
    auto schema = model::schema();
    auto statements = statements_of(render({AlterColumn{"reciperun", "status", true, {}, {}},
                                            DropConstraint{"reciperun", "reciperun_bakery_id_fkey",
                                                           ConstraintKind::foreign_key}},
                                           schema, postgres));
    BOOST_TEST(joined(statements) ==
               "ALTER TABLE \"reciperun\" ALTER COLUMN \"status\" DROP NOT NULL;\n"
               "ALTER TABLE \"reciperun\" DROP CONSTRAINT \"reciperun_bakery_id_fkey\";\n");
}

BOOST_AUTO_TEST_CASE(postgresql_rewrites_operations_on_tables_with_rows_to_keep_them_usable) {
    auto schema = model::schema();
    schema::Index index{"ix_reciperun_recipe_id", {"recipe_id"}, false};
    schema::Index kitchen_index{"ix_kitchen_region", {"region"}, false};
    schema::Table empty{"scratch", {column("id", schema::TypeKind::integer, false)}, {}, {}, {}, {}};
    auto steps = render({CreateIndex{"reciperun", index},
                         AlterColumn{"reciperun", "dataset_type", false, {}, {}},
                         RenameTable{"bakery", "kitchen"},
                         CreateIndex{"kitchen", kitchen_index},
                         CreateTable{empty},
                         CreateIndex{"scratch", {"ix_scratch_id", {"id"}, false}},
                         DropIndex{"reciperun", "ix_reciperun_recipe_id", false}},
                        schema, postgres);
    std::vector<std::pair<Isolation, std::string>> seen;
    for (const auto& step : steps) seen.emplace_back(step.isolation, joined(step.statements));
    BOOST_TEST_REQUIRE(seen.size() == 9u);
    BOOST_TEST((seen[0].first == Isolation::no_transaction));
    BOOST_TEST(seen[0].second ==
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix_reciperun_recipe_id\" ON \"reciperun\" (\"recipe_id\");\n");
    BOOST_TEST(steps[0].invalid_index == "ix_reciperun_recipe_id");
    // NOT NULL: a check added NOT VALID, validated on its own, then the cheap SET NOT NULL.
    BOOST_TEST((seen[1].first == Isolation::in_transaction));
    BOOST_TEST(seen[1].second.find("CHECK (\"dataset_type\" IS NOT NULL) NOT VALID") != std::string::npos, seen[1].second);
    BOOST_TEST((seen[2].first == Isolation::own_transaction));
    BOOST_TEST(seen[2].second == "ALTER TABLE \"reciperun\" VALIDATE CONSTRAINT \"ck_reciperun_dataset_type_not_null\";\n");
    BOOST_TEST((seen[3].first == Isolation::in_transaction));
    BOOST_TEST(seen[3].second.find("SET NOT NULL") != std::string::npos, seen[3].second);
    // The rows go with a renamed table; a new table is empty, and its index is built plainly.
    BOOST_TEST((seen[5].first == Isolation::no_transaction));
    BOOST_TEST(seen[5].second.find("CONCURRENTLY") != std::string::npos, seen[5].second);
    BOOST_TEST((seen[7].first == Isolation::in_transaction));
    BOOST_TEST(seen[7].second == "CREATE INDEX \"ix_scratch_id\" ON \"scratch\" (\"id\");\n");
    // "online": false runs the operation as written.
    BOOST_TEST(seen[8].second == "DROP INDEX \"ix_reciperun_recipe_id\";\n");
    // Without the rewrites, and on SQLite, every step runs in the revision's transaction.
    auto plain_schema = model::schema();
    for (const auto& step : render({CreateIndex{"reciperun", index}}, plain_schema, postgres, RenderOptions{false})) {
        BOOST_TEST((step.isolation == Isolation::in_transaction));
    }
    auto sqlite_schema = model::schema();
    for (const auto& step : render({CreateIndex{"reciperun", index}}, sqlite_schema, sqlite)) {
        BOOST_TEST((step.isolation == Isolation::in_transaction));
    }
}

BOOST_AUTO_TEST_CASE(postgresql_backfill_leaves_no_default) {
    schema::Schema schema{{model::schema().tables[0]}};
    auto statements = statements_of(
        render({AddColumn{"bakery", column("active", schema::TypeKind::boolean, false), std::string("true")}}, schema,
               postgres));
    BOOST_TEST(joined(statements) ==
               "ALTER TABLE \"bakery\" ADD COLUMN \"active\" BOOLEAN NOT NULL DEFAULT TRUE;\n"
               "ALTER TABLE \"bakery\" ALTER COLUMN \"active\" DROP DEFAULT;\n");
    BOOST_TEST(!schema.tables[0].find_column("active")->server_default.has_value());
}

BOOST_AUTO_TEST_CASE(sqlite_rebuilds_where_it_cannot_alter_and_batches_the_rebuilds) {
    auto schema = model::schema();
    schema.tables[2].indexes.push_back({"ix_reciperun_recipe_id", {"recipe_id"}, false});
    auto steps = render({AlterColumn{"reciperun", "status", true, {}, {}},
                         DropConstraint{"reciperun", "reciperun_bakery_id_fkey", ConstraintKind::foreign_key},
                         CreateIndex{"bakery", {"ix_bakery_name", {"name"}, true}}},
                        schema, sqlite);
    BOOST_REQUIRE_EQUAL(steps.size(), 2u);  // one rebuild for both reciperun changes, then the index
    BOOST_TEST(steps[0].description ==
               "alter_column reciperun.status; drop_constraint reciperun_bakery_id_fkey on reciperun");
    const auto& rebuild = steps[0].statements;
    BOOST_REQUIRE_EQUAL(rebuild.size(), 6u);  // and its two indexes again: the claim's, then recipe_id's
    BOOST_TEST(rebuild[0].rfind("CREATE TABLE \"_pangeo_forge_new_reciperun\"", 0) == 0u);
    BOOST_TEST(rebuild[0].find("\"status\" VARCHAR,") != std::string::npos);
    BOOST_TEST(rebuild[0].find("reciperun_bakery_id_fkey") == std::string::npos);
    BOOST_TEST(rebuild[0].find("reciperun_feedstock_id_fkey") != std::string::npos);
    BOOST_TEST(rebuild[1].rfind("INSERT INTO \"_pangeo_forge_new_reciperun\" (\"id\", ", 0) == 0u);
    BOOST_TEST(rebuild[2] == "DROP TABLE \"reciperun\"");
    BOOST_TEST(rebuild[3] == "ALTER TABLE \"_pangeo_forge_new_reciperun\" RENAME TO \"reciperun\"");
    BOOST_TEST(rebuild[4].rfind("CREATE INDEX \"ix_reciperun_bakery_id_status_started_at_id\"", 0) == 0u);
    BOOST_TEST(rebuild[5] == "CREATE INDEX \"ix_reciperun_recipe_id\" ON \"reciperun\" (\"recipe_id\")");
    BOOST_TEST(steps[1].statements == std::vector<std::string>{
                                          "CREATE UNIQUE INDEX \"ix_bakery_name\" ON \"bakery\" (\"name\")"});
}

BOOST_AUTO_TEST_CASE(sqlite_drops_unconstrained_columns_in_place_and_rebuilds_for_constrained_ones) {
    auto schema = model::schema();
    auto plain = render({DropColumn{"reciperun", "message"}}, schema, sqlite);
    BOOST_TEST(plain[0].statements == std::vector<std::string>{"ALTER TABLE \"reciperun\" DROP COLUMN \"message\""});
    auto constrained = render({DropColumn{"reciperun", "bakery_id"}}, schema, sqlite);
    BOOST_TEST(constrained[0].statements.size() == 4u);
    BOOST_TEST(schema.find_table("reciperun")->foreign_keys.size() == 1u);  // the key on bakery_id went with it
}

BOOST_AUTO_TEST_CASE(execute_uses_the_dialect_s_own_sql_when_given) {
    schema::Schema schema;
    Execute op{"SELECT 1", std::nullopt, std::string("SELECT 2")};
    BOOST_TEST(statements_of(render({op}, schema, sqlite)) == std::vector<std::string>{"SELECT 1"});
    BOOST_TEST(statements_of(render({op}, schema, postgres)) == std::vector<std::string>{"SELECT 2"});
}

BOOST_AUTO_TEST_CASE(constraints_without_a_name_get_the_convention_s_name) {
    auto table = operation_from_json(json::parse(R"({"op": "create_table", "table": {"name": "run",
        "columns": [{"name": "id", "type": "integer", "nullable": false}, {"name": "bakery_id", "type": "integer"}],
        "primary_key": {"columns": ["id"]},
        "foreign_keys": [{"columns": ["bakery_id"], "referred_table": "bakery", "referred_columns": ["id"]}],
        "indexes": [{"columns": ["bakery_id"]}], "unique_constraints": [{"columns": ["bakery_id"]}]}})"));
    const auto& created = std::get<CreateTable>(table).table;
    BOOST_TEST(created.primary_key.name == "run_pkey");
    BOOST_TEST(created.foreign_keys[0].name == "run_bakery_id_fkey");
    BOOST_TEST(created.indexes[0].name == "ix_run_bakery_id");
    BOOST_TEST(created.unique_constraints[0].name == "run_bakery_id_key");
    auto key = operation_from_json(json::parse(R"({"op": "create_foreign_key", "table": "reciperun",
        "foreign_key": {"columns": ["feedstock_id"], "referred_table": "feedstock", "referred_columns": ["id"]}})"));
    BOOST_TEST(std::get<CreateForeignKey>(key).foreign_key.name == "reciperun_feedstock_id_fkey");
}

BOOST_AUTO_TEST_CASE(postgresql_casts_only_between_type_kinds) {
    auto schema = model::schema();
    auto narrow = statements_of(render({AlterColumn{"reciperun", "status", {}, schema::Type{schema::TypeKind::varchar, 8}, {}}},
                                       schema, postgres));
    BOOST_TEST(joined(narrow) == "ALTER TABLE \"reciperun\" ALTER COLUMN \"status\" TYPE VARCHAR(8);\n");
    auto to_text = statements_of(render({AlterColumn{"reciperun", "bakery_id", {}, schema::Type{schema::TypeKind::text, {}}, {}}},
                                        schema, postgres));
    BOOST_TEST(joined(to_text) ==
               "ALTER TABLE \"reciperun\" ALTER COLUMN \"bakery_id\" TYPE TEXT USING \"bakery_id\"::TEXT;\n");
}

BOOST_AUTO_TEST_CASE(sqlite_rebuilds_for_any_backfill) {
    schema::Schema schema{{model::schema().tables[0]}};
    auto steps = render({AddColumn{"bakery", column("note", schema::TypeKind::varchar), std::string("'none'")}},
                        schema, sqlite);
    BOOST_REQUIRE_EQUAL(steps[0].statements.size(), 4u);
    BOOST_TEST(steps[0].statements[1].find("'none' FROM \"bakery\"") != std::string::npos, steps[0].statements[1]);
}

namespace {

// The "path: message" lines of the ValidationError that reading `in` throws.
std::vector<std::string> problems_reading(const json& in) {
    try {
        operation_from_json(in, {"upgrade", "3"});
    } catch (const ValidationError& error) {
        std::vector<std::string> out;
        for (const auto& field : error.errors()) {
            std::string path;
            for (const auto& part : field.loc) path += (path.empty() ? "" : ".") + part;
            out.push_back(path + ": " + field.msg);
        }
        return out;
    }
    return {};
}

bool any_starts_with(const std::vector<std::string>& lines, const std::string& prefix) {
    for (const auto& line : lines) {
        if (line.rfind(prefix, 0) == 0) return true;
    }
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_names_are_refused_where_they_are_read) {
    const std::pair<json, std::string> cases[] = {
        {json{{"op", "drop_table"}, {"table", ""}}, "upgrade.3.table"},
        {json{{"op", "add_column"}, {"table", "t"}, {"column", {{"name", ""}, {"type", "text"}}}}, "upgrade.3.column.name"},
        {json{{"op", "drop_column"}, {"table", "t"}, {"column", ""}}, "upgrade.3.column"},
        {json{{"op", "alter_column"}, {"table", "t"}, {"column", ""}, {"nullable", true}}, "upgrade.3.column"},
        {json{{"op", "rename_column"}, {"table", "t"}, {"column", "a"}, {"new_name", ""}}, "upgrade.3.new_name"},
        {json{{"op", "rename_table"}, {"table", "t"}, {"new_name", ""}}, "upgrade.3.new_name"},
        {json{{"op", "drop_index"}, {"table", "t"}, {"name", ""}}, "upgrade.3.name"},
        {json{{"op", "drop_constraint"}, {"table", "t"}, {"name", ""}}, "upgrade.3.name"},
        {json{{"op", "create_index"}, {"table", "t"}, {"index", {{"columns", json::array({"a", ""})}}}},
         "upgrade.3.index.columns.1"},
        {json{{"op", "create_index"}, {"table", "t"}, {"index", {{"columns", json::array()}}}}, "upgrade.3.index.columns"},
        {json{{"op", "create_unique_constraint"}, {"table", "t"}, {"constraint", {{"columns", json::array()}}}},
         "upgrade.3.constraint.columns"},
        {json{{"op", "create_foreign_key"}, {"table", "t"},
              {"foreign_key", {{"columns", {"a"}}, {"referred_table", ""}, {"referred_columns", {"id"}}}}},
         "upgrade.3.foreign_key.referred_table"},
        {json{{"op", "create_foreign_key"}, {"table", "t"},
              {"foreign_key", {{"columns", {"a", "b"}}, {"referred_table", "u"}, {"referred_columns", {"id"}}}}},
         "upgrade.3.foreign_key.referred_columns"},
    };
    for (const auto& [in, path] : cases) {
        auto problems = problems_reading(in);
        BOOST_TEST(any_starts_with(problems, path + ": "), in.dump() << " -> " << problems.size() << " problems"
                                                                     << (problems.empty() ? "" : ": " + problems[0]));
    }
}

BOOST_AUTO_TEST_CASE(create_table_constraints_must_name_the_table_s_own_columns) {
    auto table = json{{"name", "t"},
                      {"columns", json::array({json{{"name", "id"}, {"type", "integer"}},
                                               json{{"name", "b"}, {"type", "text"}}})},
                      {"primary_key", {{"columns", {"id"}}}},
                      {"indexes", json::array({json{{"columns", {"b"}}}})},
                      {"unique_constraints", json::array({json{{"columns", {"b", "id"}}}})},
                      {"foreign_keys", json::array({json{{"columns", {"b"}}, {"referred_table", "u"},
                                                         {"referred_columns", {"x"}}}})}};
    BOOST_TEST(problems_reading(json{{"op", "create_table"}, {"table", table}}).empty());
    auto wrong = table;
    wrong["primary_key"]["columns"] = {"id", "nope"};
    wrong["indexes"][0]["columns"] = {"c"};
    wrong["unique_constraints"][0]["columns"] = {"b", "d"};
    wrong["foreign_keys"][0]["columns"] = {"e"};
    auto problems = problems_reading(json{{"op", "create_table"}, {"table", wrong}});
    BOOST_TEST(problems == (std::vector<std::string>{
                                "upgrade.3.table.primary_key.columns.1: 'nope' is not a column of table t; "
                                "name one of its columns (id, b)",
                                "upgrade.3.table.foreign_keys.0.columns.0: 'e' is not a column of table t; "
                                "name one of its columns (id, b)",
                                "upgrade.3.table.indexes.0.columns.0: 'c' is not a column of table t; "
                                "name one of its columns (id, b)",
                                "upgrade.3.table.unique_constraints.0.columns.1: 'd' is not a column of table t; "
                                "name one of its columns (id, b)",
                            }),
               boost::test_tools::per_element());
}
