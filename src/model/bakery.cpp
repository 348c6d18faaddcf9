#include "pangeo_forge/model/bakery.hpp"

#include "model/field_codecs.hpp"

namespace pangeo_forge::model {

using BakeryCodecs = Codecs<Bakery>;

bool BakeryCreate::operator==(const BakeryCreate& other) const { return BakeryCodecs::same(*this, other); }
bool Bakery::operator==(const Bakery& other) const { return BakeryCodecs::same(*this, other); }
bool BakeryUpdate::operator==(const BakeryUpdate& other) const { return BakeryCodecs::same(*this, other); }

void apply_update(Bakery& bakery, const BakeryUpdate& update) { apply_sent_fields<Bakery>(bakery, update); }

void to_json(nlohmann::json& out, const BakeryCreate& bakery) { out = BakeryCodecs::json_of(bakery); }
void to_json(nlohmann::json& out, const Bakery& bakery) { out = BakeryCodecs::json_of(bakery); }
void to_json(nlohmann::json& out, const BakeryUpdate& update) { out = BakeryCodecs::json_of(update); }

template <>
BakeryCreate decode<BakeryCreate>(const nlohmann::json& body) {
    return BakeryCodecs::decode_create(body);
}

template <>
Bakery decode<Bakery>(const nlohmann::json& body) {
    return BakeryCodecs::decode_row(body);
}

template <>
BakeryUpdate decode<BakeryUpdate>(const nlohmann::json& body) {
    return BakeryCodecs::decode_update(body);
}

}  // namespace pangeo_forge::model
