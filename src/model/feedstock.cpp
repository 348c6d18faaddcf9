#include "pangeo_forge/model/feedstock.hpp"

#include "model/field_lists.hpp"

namespace pangeo_forge::model {

namespace {

using detail::ObjectReader;

FeedstockBase read_base(ObjectReader& in) {
    FeedstockBase base;
    base.spec = in.required<std::string>("spec").value_or("");
    base.provider = in.with_default<RepoProvider>("provider", RepoProvider::github);
    return base;
}

}  // namespace

bool FeedstockCreate::operator==(const FeedstockCreate& other) const {
    return same_row_fields<FeedstockUpdate, FeedstockBase>(*this, other);
}

bool Feedstock::operator==(const Feedstock& other) const {
    return id == other.id && same_row_fields<FeedstockUpdate, FeedstockBase>(*this, other);
}

bool FeedstockUpdate::operator==(const FeedstockUpdate& other) const { return same_sent_fields(*this, other); }

void apply_update(Feedstock& feedstock, const FeedstockUpdate& update) { apply_sent_fields(feedstock, update); }

void to_json(nlohmann::json& out, const FeedstockCreate& feedstock) {
    out = row_fields_json<FeedstockUpdate>(feedstock);
}

void to_json(nlohmann::json& out, const Feedstock& feedstock) {
    out = row_fields_json<FeedstockUpdate>(feedstock);
    out["id"] = feedstock.id;
}

void to_json(nlohmann::json& out, const FeedstockUpdate& update) { out = sent_fields_json(update); }

template <>
FeedstockCreate decode<FeedstockCreate>(const nlohmann::json& body) {
    return decode_create<FeedstockCreate>(body, read_base);
}

template <>
Feedstock decode<Feedstock>(const nlohmann::json& body) {
    return decode_row<Feedstock>(body, read_base);
}

template <>
FeedstockUpdate decode<FeedstockUpdate>(const nlohmann::json& body) {
    return decode_body<FeedstockUpdate>(body, read_update<FeedstockUpdate>);
}

}  // namespace pangeo_forge::model
