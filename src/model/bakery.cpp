#include "pangeo_forge/model/bakery.hpp"

#include "model/field_lists.hpp"

namespace pangeo_forge::model {

namespace {

using detail::ObjectReader;

BakeryBase read_base(ObjectReader& in) {
    BakeryBase base;
    base.region = in.required<std::string>("region").value_or("");
    base.name = in.required<std::string>("name").value_or("");
    base.description = in.required<std::string>("description").value_or("");
    return base;
}

}  // namespace

bool BakeryCreate::operator==(const BakeryCreate& other) const {
    return same_row_fields<BakeryUpdate, BakeryBase>(*this, other);
}

bool Bakery::operator==(const Bakery& other) const {
    return id == other.id && same_row_fields<BakeryUpdate, BakeryBase>(*this, other);
}

bool BakeryUpdate::operator==(const BakeryUpdate& other) const { return same_sent_fields(*this, other); }

void apply_update(Bakery& bakery, const BakeryUpdate& update) { apply_sent_fields(bakery, update); }

void to_json(nlohmann::json& out, const BakeryCreate& bakery) { out = row_fields_json<BakeryUpdate>(bakery); }

void to_json(nlohmann::json& out, const Bakery& bakery) {
    out = row_fields_json<BakeryUpdate>(bakery);
    out["id"] = bakery.id;
}

void to_json(nlohmann::json& out, const BakeryUpdate& update) { out = sent_fields_json(update); }

template <>
BakeryCreate decode<BakeryCreate>(const nlohmann::json& body) {
    return decode_create<BakeryCreate>(body, read_base);
}

template <>
Bakery decode<Bakery>(const nlohmann::json& body) {
    return decode_row<Bakery>(body, read_base);
}

template <>
BakeryUpdate decode<BakeryUpdate>(const nlohmann::json& body) {
    return decode_body<BakeryUpdate>(body, read_update<BakeryUpdate>);
}

}  // namespace pangeo_forge::model
