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

// Writes a field of an update form only when it was sent.
template <class T>
void put_if_sent(nlohmann::json& out, const char* name, const std::optional<T>& sent) {
    if (sent) out[name] = field_json(*sent);
}

// Overwrites a field of a stored row only when the update sent it.
template <class Field, class Sent>
void assign_if_sent(Field& field, const std::optional<Sent>& sent) {
    if (sent) field = *sent;
}

// Why a client may not send "id": in a create body, and in an update body.
inline constexpr const char* id_assigned_by_database = "id is assigned by the database, leave it out";
inline constexpr const char* id_cannot_change = "the id of a row cannot change";

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

}  // namespace pangeo_forge::model
