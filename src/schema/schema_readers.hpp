#pragma once
// The readers of the schema values' JSON, for other JSON formats that embed them
// (revision files). Each reads one object and reports problems through the reader.

#include "pangeo_forge/schema/schema.hpp"
#include "support/json_reader.hpp"

namespace pangeo_forge::detail {

template <>
struct Decoder<schema::Type> {
    static DecodeResult<schema::Type> decode(const nlohmann::json& in) {
        if (in.is_string()) {
            if (auto type = schema::parse_type(in.get<std::string>())) return {*type, std::nullopt};
        }
        return {std::nullopt,
                Problem{"unknown column type; use integer, bigint, varchar, varchar(N), text, boolean, timestamp "
                        "or float",
                        "value_error.type", {}}};
    }
};

}  // namespace pangeo_forge::detail

namespace pangeo_forge::schema {

// The readers leave a constraint's or index's name empty when the JSON has none;
// these give it the naming convention's name (read_table does so for its own).
void name_by_convention(Table& table);
void name_by_convention(const std::string& table, ForeignKey& key);
void name_by_convention(const std::string& table, Index& index);
void name_by_convention(const std::string& table, UniqueConstraint& unique);

Column read_column(detail::ObjectReader& in);
PrimaryKey read_primary_key(detail::ObjectReader& in);
ForeignKey read_foreign_key(detail::ObjectReader& in);
Index read_index(detail::ObjectReader& in);
UniqueConstraint read_unique(detail::ObjectReader& in);
Table read_table(detail::ObjectReader& in);

}  // namespace pangeo_forge::schema
