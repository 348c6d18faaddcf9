#include "pangeo_forge/model/schema.hpp"

#include "pangeo_forge/model/fields.hpp"

namespace pangeo_forge::model {
namespace {

// A model's table: its auto-increment `id` primary key, then a column per field, a
// foreign key per field that refers to a table, a unique constraint per unique field, and
// the indexes its field table lists.
schema::Table declared_table(const ModelDescription& model) {
    schema::Table table;
    table.name = model.table;
    table.columns.push_back(schema::Column{"id", schema::Type(schema::TypeKind::integer), false, std::nullopt, true});
    table.primary_key = {schema::primary_key_name(table.name), {"id"}};
    for (const auto& field : model.fields) {
        table.columns.push_back(field.column());
        if (!field.references.empty()) {
            table.foreign_keys.push_back(
                {schema::foreign_key_name(table.name, {field.name}), {field.name}, field.references, {"id"}});
        }
        if (field.unique) {
            table.unique_constraints.push_back({schema::unique_constraint_name(table.name, {field.name}), {field.name}});
        }
    }
    for (const auto& columns : model.indexes) {
        table.indexes.push_back(schema::Index{schema::index_name(table.name, columns), columns, false});
    }
    return table;
}

}  // namespace

schema::Schema schema() {
    schema::Schema declared;
    for (const auto& model : described_tables()) declared.tables.push_back(declared_table(model));
    return declared;
}

}  // namespace pangeo_forge::model
