#pragma once
// A feedstock: a repository that holds recipes, e.g. "pangeo-forge/noaa-oisst-avhrr-only-feedstock".
//
// Thread safety: plain values and pure functions.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/decode.hpp"
#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/model/fields.hpp"

namespace pangeo_forge::model {

struct FeedstockBase {
    std::string spec;
    RepoProvider provider = RepoProvider::github;  // a create's default (the table: defaulted())
};

struct FeedstockCreate : FeedstockBase {
    bool operator==(const FeedstockCreate& other) const;
};

struct Feedstock : FeedstockBase {
    std::int64_t id = 0;
    bool operator==(const Feedstock& other) const;
};

struct FeedstockUpdate {
    std::optional<std::string> spec;
    std::optional<RepoProvider> provider;

    bool operator==(const FeedstockUpdate& other) const;
};

template <>
struct FieldTable<Feedstock> {
    using Base = FeedstockBase;
    using Create = FeedstockCreate;
    using Row = Feedstock;
    using Update = FeedstockUpdate;
    static constexpr const char* name = "Feedstock";
    static constexpr const char* table = "feedstock";
    static const auto& fields() {
        static const auto list = std::make_tuple(
            field("spec", &Base::spec, &Update::spec)
                .described("the repository, e.g. pangeo-forge/noaa-oisst-avhrr-only-feedstock"),
            field("provider", &Base::provider, &Update::provider).defaulted());
        return list;
    }
};

void apply_update(Feedstock& feedstock, const FeedstockUpdate& update);

void to_json(nlohmann::json& out, const FeedstockCreate& feedstock);
void to_json(nlohmann::json& out, const Feedstock& feedstock);
void to_json(nlohmann::json& out, const FeedstockUpdate& update);

template <> FeedstockCreate decode<FeedstockCreate>(const nlohmann::json& body);
template <> Feedstock decode<Feedstock>(const nlohmann::json& body);
template <> FeedstockUpdate decode<FeedstockUpdate>(const nlohmann::json& body);

}  // namespace pangeo_forge::model
