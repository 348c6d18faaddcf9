#pragma once
// The field table: each model's fields described once, and everything else derived from
// it: the forms' JSON codecs, validation, comparison and updates (src/model), the model's
// table in model::schema(), the storage binding (orchestrator), the OpenAPI schemas (api)
// and the Python classes and their stubs (bindings/python). Adding a column is one entry
// in its model's table (plus a revision from `db revision --autogenerate`, and tests).
//
// A table is FieldTable<Model>, specialised in the model's header (bakery.hpp,
// feedstock.hpp, recipe_run.hpp). It names the model's structs and lists its fields in
// column order, each a Field: the JSON key (also the column name), the member pointer
// into the row struct (the Base), the member pointer into the update form, and the
// rules (whether a create may leave it out, a pattern, a foreign key, uniqueness, a description). The
// column's type and nullability come from the member's C++ type:
//
//   std::string -> varchar     std::int64_t -> integer     bool -> boolean
//   Timestamp -> timestamp     an enum -> varchar (its names)
//   std::optional<T> -> T's type, nullable
//
// A create may leave a field out when it is nullable (then null) or has a default.
// The primary key `id` (integer, auto-increment) is not a field: the stored row struct
// (Bakery, Feedstock, RecipeRun) holds it, and every table with a name has it first.
//
// Visiting, typed (for code that needs the member pointers, e.g. the storage binding):
//
//   model::visit_fields<model::RecipeRun>([&](const auto& field) {
//       columns.push_back(field.name);            // "recipe_id", "bakery_id", ... in column order
//       const auto& value = run.*field.member;     // run: a RecipeRun (or RecipeRunCreate)
//       using T = typename std::decay_t<decltype(field)>::value_type;  // e.g. std::optional<Timestamp>
//   });
//
// and described, untyped (describe<Model>(), described_models()), for documents and
// generators that only need names, kinds and rules.
//
// Thread safety: the tables are immutable once built (on first use, thread-safely as
// function-local statics); visiting them from any thread is safe. Nothing here throws
// except pick() on a programming error (std::logic_error), which the tests exercise.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/model/timestamp.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::model {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct without_optional {
    using type = T;
};
template <class T>
struct without_optional<std::optional<T>> {
    using type = T;
};

// What a field holds, as JSON, OpenAPI and Python see it.
enum class ValueKind { text, integer, boolean, timestamp, enumeration };

// The kind of each C++ type a field may have; any other type does not compile.
template <class T, class = void>
struct ValueKindOf;
template <>
struct ValueKindOf<std::string> : std::integral_constant<ValueKind, ValueKind::text> {};
template <>
struct ValueKindOf<std::int64_t> : std::integral_constant<ValueKind, ValueKind::integer> {};
template <>
struct ValueKindOf<bool> : std::integral_constant<ValueKind, ValueKind::boolean> {};
template <>
struct ValueKindOf<Timestamp> : std::integral_constant<ValueKind, ValueKind::timestamp> {};
template <class Enum>
struct ValueKindOf<Enum, std::enable_if_t<std::is_enum_v<Enum>>>
    : std::integral_constant<ValueKind, ValueKind::enumeration> {};

// The column type that stores a value of this kind (enums are stored by name).
inline schema::Type column_type(ValueKind kind, bool wide = false) {
    switch (kind) {
        case ValueKind::integer: return schema::Type(wide ? schema::TypeKind::big_integer : schema::TypeKind::integer);
        case ValueKind::boolean: return schema::Type(schema::TypeKind::boolean);
        case ValueKind::timestamp: return schema::Type(schema::TypeKind::timestamp);
        case ValueKind::text:
        case ValueKind::enumeration: break;
    }
    return schema::Type(schema::TypeKind::varchar);
}

// JSON value of one field: enums by name, timestamps in ISO 8601, null for an empty optional.
inline nlohmann::json field_json(const std::string& value) { return value; }
inline nlohmann::json field_json(std::int64_t value) { return value; }
inline nlohmann::json field_json(bool value) { return value; }
inline nlohmann::json field_json(Timestamp value) { return format_timestamp(value); }
template <class Enum, class = std::enable_if_t<std::is_enum_v<Enum>>>
nlohmann::json field_json(Enum value) {
    return std::string(to_string(value));
}
template <class T>
nlohmann::json field_json(const std::optional<T>& value) {
    return value ? field_json(*value) : nlohmann::json(nullptr);
}

// A rule on a text field's value, written once: the decoders of what clients send (create
// and update forms) refuse a value that `accepts` refuses (value_error.str.regex, with
// `hint` in the message; a stored row is read as the server holds it) and the OpenAPI schema
// publishes `regex` as the field's pattern. The check is a function, not the regex: a
// regex engine that recurses per character (libstdc++'s) would let one long value overflow
// the stack; tests hold the two to agreement.
struct Pattern {
    const char* regex;                    // ECMAScript, for the whole value: what clients are told
    const char* hint;                     // what to send instead, e.g. "use MAJOR.MINOR such as 1.0"
    bool (*accepts)(std::string_view);    // the check itself, in linear time
};

// The update form of a model that has none (a projection such as Dataset).
struct NoUpdate {};

// One field of a model. Row is the struct that holds the value (the Base of the create
// and row forms), T the member's type (std::optional<...> for a nullable column), Update
// the update form, whose member is std::optional<T>: empty when the client did not send
// the field (so a nullable field's is std::optional<std::optional<...>>).
template <class Row, class T, class Update = NoUpdate>
struct Field {
    using row_type = Row;
    using value_type = T;                                    // the member's C++ type
    using stored_type = typename without_optional<T>::type;  // T without the optional
    using update_type = Update;
    static constexpr bool nullable = is_optional<T>::value;
    static constexpr ValueKind kind = ValueKindOf<stored_type>::value;

    const char* name = nullptr;                  // the JSON key and the column name
    T Row::*member = nullptr;                    // the value in the row struct
    std::optional<T> Update::*update = nullptr;  // in the update form; null when there is none
    std::optional<T> default_value;              // what a create that leaves the field out gets
    const Pattern* pattern = nullptr;            // a text field's rule, or null
    const char* references = nullptr;            // the table whose id this column refers to
    bool unique = false;                         // the column's values are unique
    bool wide = false;                           // an integer beyond 32 bits: bigint
    const char* description = nullptr;           // for the OpenAPI document, or null

    // A create may leave the field out: it then gets the value the row struct's member
    // initializer gives (`RecipeRunStatus status = RecipeRunStatus::queued;`), so the
    // default is written once, beside the member.
    Field defaulted() const {
        static_assert(!nullable, "a nullable field's default is null");
        Field copy = *this;
        copy.default_value = Row{}.*member;
        return copy;
    }
    Field matching(const Pattern& rule) const {
        static_assert(std::is_same_v<stored_type, std::string>, "a pattern applies to text");
        Field copy = *this;
        copy.pattern = &rule;
        return copy;
    }
    Field referring_to(const char* table) const {
        static_assert(std::is_same_v<stored_type, std::int64_t>, "a foreign key refers to an integer id");
        Field copy = *this;
        copy.references = table;
        return copy;
    }
    Field unique_values() const {
        Field copy = *this;
        copy.unique = true;
        return copy;
    }
    // An integer column of 64 bits (an id GitHub gives, which may pass 2^31).
    Field wide_values() const {
        static_assert(std::is_same_v<stored_type, std::int64_t>, "only an integer column is wide");
        Field copy = *this;
        copy.wide = true;
        return copy;
    }
    Field described(const char* text) const {
        Field copy = *this;
        copy.description = text;
        return copy;
    }

    bool create_may_omit() const { return nullable || default_value.has_value(); }
    schema::Column column() const { return schema::Column{name, column_type(kind, wide), nullable, std::nullopt, false}; }
};

// A field of a model with an update form: field("name", &Base::name, &Update::name).
template <class Row, class T, class Update>
Field<Row, T, Update> field(const char* name, T Row::*member, std::optional<T> Update::*update) {
    Field<Row, T, Update> result;
    result.name = name;
    result.member = member;
    result.update = update;
    return result;
}

// A field of a model without an update form.
template <class Row, class T>
Field<Row, T> field(const char* name, T Row::*member) {
    Field<Row, T> result;
    result.name = name;
    result.member = member;
    return result;
}

// The field table of a model; specialised in each model's header with:
//   Base, Create, Row, Update   the structs (Update = NoUpdate for a projection)
//   name                        "RecipeRun": the OpenAPI schema and Python class stem
//   table                       "reciperun"; nullptr for a projection, which has no table
//   fields()                    a std::tuple of Field, in column order
template <class Model>
struct FieldTable;

// Calls visit(field) for each field of Model, in column order.
template <class Model, class Visit>
void visit_fields(Visit&& visit) {
    std::apply([&](const auto&... fields) { (visit(fields), ...); }, FieldTable<Model>::fields());
}

// A field of a projection, taken from the field of Model that `source` points to: the
// same name, pattern and description, held in the projection's `member`. The two types
// may differ only by an optional (a projection may know that a nullable column is set).
// Throws std::logic_error when `source` is not a field of Model.
template <class Model, class Source, class Row, class T>
Field<Row, T> pick(Source FieldTable<Model>::Base::*source, T Row::*member) {
    static_assert(std::is_same_v<typename without_optional<Source>::type, typename without_optional<T>::type>,
                  "a projection's field holds the same type as the field it picks");
    Field<Row, T> result = field(static_cast<const char*>(nullptr), member);
    visit_fields<Model>([&](const auto& candidate) {
        if constexpr (std::is_same_v<typename std::decay_t<decltype(candidate)>::value_type, Source>) {
            if (candidate.member == source) {
                result.name = candidate.name;
                result.pattern = candidate.pattern;
                result.description = candidate.description;
            }
        }
    });
    if (result.name == nullptr) throw std::logic_error("pick(): the member is not a field of the model's table");
    return result;
}

// --- the tables described, without types -----------------------------------------------

// Spelling of an enum's C++ (and Python) type: "RecipeRunStatus".
template <class Enum>
std::string_view enum_type_name();
template <> std::string_view enum_type_name<RecipeRunStatus>();
template <> std::string_view enum_type_name<RecipeRunConclusion>();
template <> std::string_view enum_type_name<DatasetType>();
template <> std::string_view enum_type_name<RepoProvider>();

struct FieldDescription {
    std::string name;
    ValueKind kind = ValueKind::text;
    bool nullable = false;
    bool create_may_omit = false;
    bool updatable = false;                     // the update form has it
    nlohmann::json default_value;               // null when there is none
    std::string enum_type;                      // an enumeration's type name
    std::vector<std::string_view> enum_values;  // an enumeration's names, in order
    const Pattern* pattern = nullptr;
    std::string references;                     // empty when not a foreign key
    bool unique = false;
    bool wide = false;
    std::string description;

    schema::Column column() const { return schema::Column{name, column_type(kind, wide), nullable, std::nullopt, false}; }
};

struct ModelDescription {
    std::string name;   // "RecipeRun"
    std::string table;  // "reciperun"; empty for a projection
    std::vector<FieldDescription> fields;
    std::vector<std::vector<std::string>> indexes;  // the columns of each index the table has

    bool stored() const { return !table.empty(); }  // has a table, and so an id
    const FieldDescription* find_field(std::string_view field_name) const {
        for (const auto& field : fields) {
            if (field.name == field_name) return &field;
        }
        return nullptr;
    }
};

// A field table may list the indexes its table has, by their columns in order:
//   static std::vector<std::vector<std::string>> indexes() { return {{"bakery_id", "status"}}; }
// for a query that would otherwise read the whole table. None when it does not.
template <class Table, class = void>
struct has_indexes : std::false_type {};
template <class Table>
struct has_indexes<Table, std::void_t<decltype(Table::indexes())>> : std::true_type {};

template <class Model>
ModelDescription describe() {
    using Table = FieldTable<Model>;
    ModelDescription model{Table::name, Table::table ? Table::table : "", {}, {}};
    if constexpr (has_indexes<Table>::value) model.indexes = Table::indexes();
    visit_fields<Model>([&](const auto& field) {
        using F = std::decay_t<decltype(field)>;
        FieldDescription out;
        out.name = field.name;
        out.kind = F::kind;
        out.nullable = F::nullable;
        out.create_may_omit = field.create_may_omit();
        out.updatable = field.update != nullptr;
        if (field.default_value) out.default_value = field_json(*field.default_value);
        if constexpr (F::kind == ValueKind::enumeration) {
            out.enum_type = std::string(enum_type_name<typename F::stored_type>());
            out.enum_values = enum_names<typename F::stored_type>();
        }
        out.pattern = field.pattern;
        if (field.references) out.references = field.references;
        out.unique = field.unique;
        out.wide = field.wide;
        if (field.description) out.description = field.description;
        model.fields.push_back(std::move(out));
    });
    return model;
}

// Every model: Bakery, Feedstock, RecipeRun (the tables, in foreign-key order), then the
// projections (Dataset).
const std::vector<ModelDescription>& described_models();

// Every table the database holds: the stored models of described_models(), then the
// orchestrator's own bookkeeping (Dispatch), which no API route reads or writes as such.
const std::vector<ModelDescription>& described_tables();

}  // namespace pangeo_forge::model
