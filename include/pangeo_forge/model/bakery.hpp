#pragma once
// A bakery: a place (a cloud and its region) where recipes run.
//
// Thread safety: plain values and pure functions.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/decode.hpp"
#include "pangeo_forge/model/fields.hpp"

namespace pangeo_forge::model {

// The fields a client provides; all required.
struct BakeryBase {
    std::string region;
    std::string name;
    std::string description;
};

struct BakeryCreate : BakeryBase {
    bool operator==(const BakeryCreate& other) const;
};

// A stored bakery.
struct Bakery : BakeryBase {
    std::int64_t id = 0;
    bool operator==(const Bakery& other) const;
};

// A partial update: a field is set only when the client sent it.
struct BakeryUpdate {
    std::optional<std::string> region;
    std::optional<std::string> name;
    std::optional<std::string> description;

    bool operator==(const BakeryUpdate& other) const;
};

// The bakery's fields, once (model/fields.hpp says what a table holds).
template <>
struct FieldTable<Bakery> {
    using Base = BakeryBase;
    using Create = BakeryCreate;
    using Row = Bakery;
    using Update = BakeryUpdate;
    static constexpr const char* name = "Bakery";
    static constexpr const char* table = "bakery";
    static const auto& fields() {
        static const auto list = std::make_tuple(
            field("region", &Base::region, &Update::region).described("the cloud region"),
            // Unique: the Python service's TODO, done (revision 3b96e7fb9cbd).
            field("name", &Base::name, &Update::name).unique_values(),
            field("description", &Base::description, &Update::description));
        return list;
    }
};

void apply_update(Bakery& bakery, const BakeryUpdate& update);

void to_json(nlohmann::json& out, const BakeryCreate& bakery);
void to_json(nlohmann::json& out, const Bakery& bakery);
void to_json(nlohmann::json& out, const BakeryUpdate& update);  // only the fields sent

template <> BakeryCreate decode<BakeryCreate>(const nlohmann::json& body);
template <> Bakery decode<Bakery>(const nlohmann::json& body);
template <> BakeryUpdate decode<BakeryUpdate>(const nlohmann::json& body);

}  // namespace pangeo_forge::model
