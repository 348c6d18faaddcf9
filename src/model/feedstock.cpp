#include "pangeo_forge/model/feedstock.hpp"

#include "model/field_codecs.hpp"

namespace pangeo_forge::model {
namespace {

using detail::ObjectReader;

FeedstockBase read_base(ObjectReader& in) {
    FeedstockBase base;
    base.spec = in.required<std::string>("spec").value_or("");
    base.provider = in.with_default<RepoProvider>("provider", RepoProvider::github);
    return base;
}

nlohmann::json base_json(const FeedstockBase& feedstock) {
    return {{"spec", feedstock.spec}, {"provider", field_json(feedstock.provider)}};
}

bool same_base(const FeedstockBase& a, const FeedstockBase& b) {
    return a.spec == b.spec && a.provider == b.provider;
}

}  // namespace

bool FeedstockCreate::operator==(const FeedstockCreate& other) const { return same_base(*this, other); }

bool Feedstock::operator==(const Feedstock& other) const { return id == other.id && same_base(*this, other); }

bool FeedstockUpdate::operator==(const FeedstockUpdate& other) const {
    return spec == other.spec && provider == other.provider;
}

void apply_update(Feedstock& feedstock, const FeedstockUpdate& update) {
    assign_if_sent(feedstock.spec, update.spec);
    assign_if_sent(feedstock.provider, update.provider);
}

void to_json(nlohmann::json& out, const FeedstockCreate& feedstock) { out = base_json(feedstock); }

void to_json(nlohmann::json& out, const Feedstock& feedstock) {
    out = base_json(feedstock);
    out["id"] = feedstock.id;
}

void to_json(nlohmann::json& out, const FeedstockUpdate& update) {
    out = nlohmann::json::object();
    put_if_sent(out, "spec", update.spec);
    put_if_sent(out, "provider", update.provider);
}

template <>
FeedstockCreate decode<FeedstockCreate>(const nlohmann::json& body) {
    return decode_body<FeedstockCreate>(body, [](ObjectReader& in) {
        in.forbid("id", id_assigned_by_database);
        return FeedstockCreate{read_base(in)};
    });
}

template <>
Feedstock decode<Feedstock>(const nlohmann::json& body) {
    return decode_body<Feedstock>(body, [](ObjectReader& in) {
        Feedstock feedstock{read_base(in)};
        feedstock.id = in.required<std::int64_t>("id").value_or(0);
        return feedstock;
    });
}

template <>
FeedstockUpdate decode<FeedstockUpdate>(const nlohmann::json& body) {
    return decode_body<FeedstockUpdate>(body, [](ObjectReader& in) {
        in.forbid("id", id_cannot_change);
        FeedstockUpdate update;
        update.spec = in.sent<std::string>("spec");
        update.provider = in.sent<RepoProvider>("provider");
        return update;
    });
}

}  // namespace pangeo_forge::model
