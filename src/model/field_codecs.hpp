#pragma once
// How the model's own field types (enums, timestamps) read from and write to JSON,
// plus the shared helpers of the model's codecs.

#include <optional>
#include <string>

#include "pangeo_forge/model/enums.hpp"
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

// JSON value of one field: enums by name, timestamps in ISO 8601, null for an empty optional.
inline nlohmann::json field_json(const std::string& value) { return value; }
inline nlohmann::json field_json(std::int64_t value) { return value; }
inline nlohmann::json field_json(bool value) { return value; }
inline nlohmann::json field_json(Timestamp value) { return format_timestamp(value); }
inline nlohmann::json field_json(RecipeRunStatus value) { return std::string(to_string(value)); }
inline nlohmann::json field_json(RecipeRunConclusion value) { return std::string(to_string(value)); }
inline nlohmann::json field_json(DatasetType value) { return std::string(to_string(value)); }
inline nlohmann::json field_json(RepoProvider value) { return std::string(to_string(value)); }

template <class T>
nlohmann::json field_json(const std::optional<T>& value) {
    return value ? field_json(*value) : nlohmann::json(nullptr);
}

// Why a client may not send "id": in a create body, and in an update body.
inline constexpr const char* id_assigned_by_database = "id is assigned by the database, leave it out";
inline constexpr const char* id_cannot_change = "the id of a row cannot change";

// Each model lists its fields once, in the API's order: FieldList<Update>::visit(visit)
// calls visit(name, row member, update member) for every field a client may send. The
// operations below, shared by the three models, are built on that list.
template <class Update>
struct FieldList;

template <class Row, class Update>
void apply_sent_fields(Row& row, const Update& update) {
    FieldList<Update>::visit([&](const char*, auto row_member, auto update_member) {
        if (update.*update_member) row.*row_member = *(update.*update_member);
    });
}

// The fields an update sent, and only those.
template <class Update>
nlohmann::json sent_fields_json(const Update& update) {
    nlohmann::json out = nlohmann::json::object();
    FieldList<Update>::visit([&](const char* name, auto, auto update_member) {
        if (update.*update_member) out[name] = field_json(*(update.*update_member));
    });
    return out;
}

template <class Update>
bool same_sent_fields(const Update& a, const Update& b) {
    bool same = true;
    FieldList<Update>::visit(
        [&](const char*, auto, auto update_member) { same = same && a.*update_member == b.*update_member; });
    return same;
}

// Every field of a row but its id.
template <class Update, class Row>
nlohmann::json row_fields_json(const Row& row) {
    nlohmann::json out = nlohmann::json::object();
    FieldList<Update>::visit([&](const char* name, auto row_member, auto) { out[name] = field_json(row.*row_member); });
    return out;
}

template <class Update, class Row>
bool same_row_fields(const Row& a, const Row& b) {
    bool same = true;
    FieldList<Update>::visit(
        [&](const char*, auto row_member, auto) { same = same && a.*row_member == b.*row_member; });
    return same;
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

template <class Update>
Update read_update(detail::ObjectReader& in) {
    in.forbid("id", id_cannot_change);
    Update update;
    FieldList<Update>::visit(
        [&](const char* name, auto, auto update_member) { read_sent(in, name, update.*update_member); });
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

// A create form: every field but the id, which the database assigns.
template <class Create, class ReadBase>
Create decode_create(const nlohmann::json& body, ReadBase read_base) {
    return decode_body<Create>(body, [&](detail::ObjectReader& in) {
        in.forbid("id", id_assigned_by_database);
        return Create{read_base(in)};
    });
}

// A stored row: every field and its id.
template <class Row, class ReadBase>
Row decode_row(const nlohmann::json& body, ReadBase read_base) {
    return decode_body<Row>(body, [&](detail::ObjectReader& in) {
        Row row{read_base(in)};
        row.id = in.required<std::int64_t>("id").value_or(0);
        return row;
    });
}

}  // namespace pangeo_forge::model
