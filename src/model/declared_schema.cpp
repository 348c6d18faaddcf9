#include "pangeo_forge/model/schema.hpp"

namespace pangeo_forge::model {
namespace {

using schema::Column;
using schema::Table;
using schema::Type;
using schema::TypeKind;

const Type integer{TypeKind::integer, std::nullopt};
const Type varchar{TypeKind::varchar, std::nullopt};
const Type boolean{TypeKind::boolean, std::nullopt};
const Type timestamp{TypeKind::timestamp, std::nullopt};

Column id_column() { return Column{"id", integer, false, std::nullopt, true}; }
Column required(std::string name, Type type) { return Column{std::move(name), type, false, std::nullopt, false}; }
Column optional(std::string name, Type type) { return Column{std::move(name), type, true, std::nullopt, false}; }

// A table whose primary key is its auto-increment `id`.
Table table_with_id(std::string name, std::vector<Column> columns) {
    Table table;
    table.name = std::move(name);
    table.columns.push_back(id_column());
    table.columns.insert(table.columns.end(), columns.begin(), columns.end());
    table.primary_key = {schema::primary_key_name(table.name), {"id"}};
    return table;
}

schema::ForeignKey reference(const std::string& table, const std::string& column, const std::string& target) {
    return {schema::foreign_key_name(table, {column}), {column}, target, {"id"}};
}

}  // namespace

schema::Schema schema() {
    Table bakery = table_with_id("bakery", {
        required("region", varchar),
        required("name", varchar),
        required("description", varchar),
    });
    // Bakery names are unique (the Python service's TODO; revision 3b96e7fb9cbd adds it).
    bakery.unique_constraints = {{schema::unique_constraint_name("bakery", {"name"}), {"name"}}};
    Table feedstock = table_with_id("feedstock", {
        required("spec", varchar),
        required("provider", varchar),
    });
    Table reciperun = table_with_id("reciperun", {
        required("recipe_id", varchar),
        required("bakery_id", integer),
        required("feedstock_id", integer),
        required("head_sha", varchar),
        required("version", varchar),
        required("started_at", timestamp),
        optional("completed_at", timestamp),
        optional("conclusion", varchar),
        required("status", varchar),
        optional("message", varchar),
        required("is_test", boolean),
        optional("dataset_type", varchar),
        optional("dataset_public_url", varchar),
    });
    reciperun.foreign_keys = {reference("reciperun", "bakery_id", "bakery"),
                              reference("reciperun", "feedstock_id", "feedstock")};
    return schema::Schema{{bakery, feedstock, reciperun}};
}

}  // namespace pangeo_forge::model
