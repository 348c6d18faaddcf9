#include "pangeo_forge/model/feedstock.hpp"

#include "model/field_codecs.hpp"

namespace pangeo_forge::model {

using FeedstockCodecs = Codecs<Feedstock>;

bool FeedstockCreate::operator==(const FeedstockCreate& other) const { return FeedstockCodecs::same(*this, other); }
bool Feedstock::operator==(const Feedstock& other) const { return FeedstockCodecs::same(*this, other); }
bool FeedstockUpdate::operator==(const FeedstockUpdate& other) const { return FeedstockCodecs::same(*this, other); }

void apply_update(Feedstock& feedstock, const FeedstockUpdate& update) { apply_sent_fields<Feedstock>(feedstock, update); }

void to_json(nlohmann::json& out, const FeedstockCreate& feedstock) { out = FeedstockCodecs::json_of(feedstock); }
void to_json(nlohmann::json& out, const Feedstock& feedstock) { out = FeedstockCodecs::json_of(feedstock); }
void to_json(nlohmann::json& out, const FeedstockUpdate& update) { out = FeedstockCodecs::json_of(update); }

template <>
FeedstockCreate decode<FeedstockCreate>(const nlohmann::json& body) {
    return FeedstockCodecs::decode_create(body);
}

template <>
Feedstock decode<Feedstock>(const nlohmann::json& body) {
    return FeedstockCodecs::decode_row(body);
}

template <>
FeedstockUpdate decode<FeedstockUpdate>(const nlohmann::json& body) {
    return FeedstockCodecs::decode_update(body);
}

}  // namespace pangeo_forge::model
