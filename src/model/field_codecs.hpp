#pragma once
// How the model's own field types (enums, timestamps) read from JSON, and the codecs of
// the forms, all built on the field tables (pangeo_forge/model/fields.hpp): a model's .cpp
// only instantiates them.

#include <optional>
#include <string>

#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/model/fields.hpp"
#include "pangeo_forge/model/timestamp.hpp"
#include "support/json_reader.hpp"

namespace pangeo_forge::detail {

template <class Enum>
struct EnumDecoder {
    static DecodeResult<Enum> decode(const nlohmann::json& in) {
        if (in.is_string()) {
            if (auto value = model::parse_enum<Enum>(in.get<std::string>())) return {*value, std::nullopt};
        }
        const auto& names = model::enum_names<Enum>();
        std::string permitted;
        for (std::size_t i = 0; i < names.size(); ++i) {
            permitted += (i ? ", '" : "'") + std::string(names[i]) + "'";
        }
        return {std::nullopt, Problem{"value is not a valid enumeration member; permitted: " + permitted,
                                      "type_error.enum", nlohmann::json{{"enum_values", names}}}};
    }
};

template <> struct Decoder<model::RecipeRunStatus> : EnumDecoder<model::RecipeRunStatus> {};
template <> struct Decoder<model::RecipeRunConclusion> : EnumDecoder<model::RecipeRunConclusion> {};
template <> struct Decoder<model::DatasetType> : EnumDecoder<model::DatasetType> {};
template <> struct Decoder<model::RepoProvider> : EnumDecoder<model::RepoProvider> {};

template <>
struct Decoder<model::Timestamp> {
    static DecodeResult<model::Timestamp> decode(const nlohmann::json& in) {
        if (in.is_string()) {
            if (auto value = model::parse_timestamp(in.get<std::string>())) return {*value, std::nullopt};
        }
        return {std::nullopt, Problem{"invalid datetime format; use ISO 8601 such as 2021-01-01T00:00:00Z",
                                      "value_error.datetime", {}}};
    }
};

}  // namespace pangeo_forge::detail

namespace pangeo_forge::model {

// Why a client may not send "id": in a create body, and in an update body.
inline constexpr const char* id_assigned_by_database = "id is assigned by the database, leave it out";
inline constexpr const char* id_cannot_change = "the id of a row cannot change";

// Whether `value` matches the pattern as a whole (fields.cpp; the compiled expressions
// are kept).
bool matches(const Pattern& pattern, const std::string& value);

// Which rules a decoder applies: a client's form (create, update) meets them all; a stored
// row (a server's answer, read back by the client or the Python classes) is taken as the
// server holds it, so a pattern is not checked there: the GitHub App's test runs have an
// empty version (as upstream's), which no client may send but every client must read.
enum class Checks { form, stored_row };

// Reports what the field's column cannot hold (a NUL in text, which PostgreSQL refuses and
// SQLite would keep: refused on both alike; an integer beyond the 32-bit INTEGER column)
// and, in a form, a text that breaks its field's pattern, in pydantic's words.
template <class F, class Value>
void check_rules(detail::ObjectReader& in, const F& field, const Value& value, Checks checks = Checks::form) {
    auto problem = [&](std::string message, const char* type, nlohmann::json context) {
        in.errors().add(detail::child_loc(in.loc(), field.name),
                        detail::Problem{std::move(message), type, std::move(context)});
    };
    if constexpr (std::is_same_v<Value, std::int64_t>) {
        if (value > schema::integer_max) {
            problem("ensure this value is less than or equal to " + std::to_string(schema::integer_max),
                    "value_error.number.not_le", {{"limit_value", schema::integer_max}});
        } else if (value < schema::integer_min) {
            problem("ensure this value is greater than or equal to " + std::to_string(schema::integer_min),
                    "value_error.number.not_ge", {{"limit_value", schema::integer_min}});
        }
    }
    if constexpr (std::is_same_v<Value, std::string>) {
        if (value.find('\0') != std::string::npos) {
            problem("text may not contain the NUL character (U+0000): remove it", "value_error.str.nul", {});
            return;
        }
        if (checks == Checks::stored_row || field.pattern == nullptr || matches(*field.pattern, value)) return;
        in.errors().add(detail::child_loc(in.loc(), field.name),
                        detail::Problem{std::string("string does not match regex \"") + field.pattern->regex + "\"; " +
                                            field.pattern->hint,
                                        "value_error.str.regex", nlohmann::json{{"pattern", field.pattern->regex}}});
    }
}

template <class Model, class Row>
void apply_sent_fields(Row& row, const typename FieldTable<Model>::Update& update) {
    visit_fields<Model>([&](const auto& field) {
        if (update.*field.update) row.*field.member = *(update.*field.update);
    });
}

// The fields an update sent, and only those.
template <class Model>
nlohmann::json sent_fields_json(const typename FieldTable<Model>::Update& update) {
    nlohmann::json out = nlohmann::json::object();
    visit_fields<Model>([&](const auto& field) {
        if (update.*field.update) out[field.name] = field_json(*(update.*field.update));
    });
    return out;
}

template <class Model>
bool same_sent_fields(const typename FieldTable<Model>::Update& a, const typename FieldTable<Model>::Update& b) {
    bool same = true;
    visit_fields<Model>([&](const auto& field) { same = same && a.*field.update == b.*field.update; });
    return same;
}

// Every field of a row but its id.
template <class Model, class Row>
nlohmann::json row_fields_json(const Row& row) {
    nlohmann::json out = nlohmann::json::object();
    visit_fields<Model>([&](const auto& field) { out[field.name] = field_json(row.*field.member); });
    return out;
}

template <class Model, class Row>
bool same_row_fields(const Row& a, const Row& b) {
    bool same = true;
    visit_fields<Model>([&](const auto& field) { same = same && a.*field.member == b.*field.member; });
    return same;
}

// Every field of a create body (or of a row, beside its id): a nullable field may be left
// out or null, a field with a default may be left out, any other is required.
template <class Model>
typename FieldTable<Model>::Base read_fields(detail::ObjectReader& in, Checks checks = Checks::form) {
    typename FieldTable<Model>::Base base;
    visit_fields<Model>([&](const auto& field) {
        using F = std::decay_t<decltype(field)>;
        using Stored = typename F::stored_type;
        std::optional<Stored> value;
        if constexpr (F::nullable) {
            value = in.nullable<Stored>(field.name);
            base.*field.member = value;
        } else if (field.default_value) {
            value = in.with_default<Stored>(field.name, *field.default_value);
            base.*field.member = *value;
        } else {
            value = in.required<Stored>(field.name);
            base.*field.member = value.value_or(Stored{});
        }
        if (value) check_rules(in, field, *value, checks);
    });
    return base;
}

// An update's field for a NOT NULL column may be left out, but not sent as null ...
template <class T>
void read_sent(detail::ObjectReader& in, const char* name, std::optional<T>& field) {
    field = in.sent<T>(name);
}

// ... while one for a nullable column may also be sent as null.
template <class T>
void read_sent(detail::ObjectReader& in, const char* name, std::optional<std::optional<T>>& field) {
    field = in.sent_nullable<T>(name);
}

template <class Model>
typename FieldTable<Model>::Update read_update(detail::ObjectReader& in) {
    in.forbid("id", id_cannot_change);
    typename FieldTable<Model>::Update update;
    visit_fields<Model>([&](const auto& field) {
        auto& sent = update.*field.update;
        read_sent(in, field.name, sent);
        if constexpr (std::decay_t<decltype(field)>::nullable) {
            if (sent && *sent) check_rules(in, field, **sent);
        } else {
            if (sent) check_rules(in, field, *sent);
        }
    });
    return update;
}

// Reads a body with `read` and throws every problem found, with "body" as the root.
template <class Form, class Read>
Form decode_body(const nlohmann::json& body, Read read) {
    detail::ErrorList errors;
    detail::ObjectReader reader(body, detail::Loc{"body"}, errors);
    Form form = read(reader);
    reader.reject_unknown_fields();
    errors.throw_if_any();
    return form;
}

// The codecs of a model's three forms, from its table; each model's .cpp calls these.
template <class Model>
struct Codecs {
    using Table = FieldTable<Model>;
    using Base = typename Table::Base;
    using Create = typename Table::Create;
    using Row = typename Table::Row;
    using Update = typename Table::Update;

    static bool same(const Create& a, const Create& b) { return same_row_fields<Model, Base>(a, b); }
    static bool same(const Row& a, const Row& b) { return a.id == b.id && same_row_fields<Model, Base>(a, b); }
    static bool same(const Update& a, const Update& b) { return same_sent_fields<Model>(a, b); }

    static nlohmann::json json_of(const Create& create) { return row_fields_json<Model, Base>(create); }
    static nlohmann::json json_of(const Row& row) {
        nlohmann::json out = row_fields_json<Model, Base>(row);
        out["id"] = row.id;
        return out;
    }
    static nlohmann::json json_of(const Update& update) { return sent_fields_json<Model>(update); }

    // A create form: every field but the id, which the database assigns.
    static Create decode_create(const nlohmann::json& body) {
        return decode_body<Create>(body, [](detail::ObjectReader& in) {
            in.forbid("id", id_assigned_by_database);
            return Create{read_fields<Model>(in)};
        });
    }

    // A stored row: every field and its id.
    static Row decode_row(const nlohmann::json& body) {
        return decode_body<Row>(body, [](detail::ObjectReader& in) {
            Row row{read_fields<Model>(in, Checks::stored_row)};
            row.id = in.required<std::int64_t>("id").value_or(0);
            return row;
        });
    }

    static Update decode_update(const nlohmann::json& body) { return decode_body<Update>(body, read_update<Model>); }
};

}  // namespace pangeo_forge::model
