#include "pangeo_forge/model/bakery.hpp"

#include "model/field_codecs.hpp"

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

nlohmann::json base_json(const BakeryBase& bakery) {
    return {{"region", bakery.region}, {"name", bakery.name}, {"description", bakery.description}};
}

bool same_base(const BakeryBase& a, const BakeryBase& b) {
    return a.region == b.region && a.name == b.name && a.description == b.description;
}

}  // namespace

bool BakeryCreate::operator==(const BakeryCreate& other) const { return same_base(*this, other); }

bool Bakery::operator==(const Bakery& other) const { return id == other.id && same_base(*this, other); }

bool BakeryUpdate::operator==(const BakeryUpdate& other) const {
    return region == other.region && name == other.name && description == other.description;
}

void apply_update(Bakery& bakery, const BakeryUpdate& update) {
    assign_if_sent(bakery.region, update.region);
    assign_if_sent(bakery.name, update.name);
    assign_if_sent(bakery.description, update.description);
}

void to_json(nlohmann::json& out, const BakeryCreate& bakery) { out = base_json(bakery); }

void to_json(nlohmann::json& out, const Bakery& bakery) {
    out = base_json(bakery);
    out["id"] = bakery.id;
}

void to_json(nlohmann::json& out, const BakeryUpdate& update) {
    out = nlohmann::json::object();
    put_if_sent(out, "region", update.region);
    put_if_sent(out, "name", update.name);
    put_if_sent(out, "description", update.description);
}

template <>
BakeryCreate decode<BakeryCreate>(const nlohmann::json& body) {
    return decode_body<BakeryCreate>(body, [](ObjectReader& in) {
        in.forbid("id", id_assigned_by_database);
        return BakeryCreate{read_base(in)};
    });
}

template <>
Bakery decode<Bakery>(const nlohmann::json& body) {
    return decode_body<Bakery>(body, [](ObjectReader& in) {
        Bakery bakery{read_base(in)};
        bakery.id = in.required<std::int64_t>("id").value_or(0);
        return bakery;
    });
}

template <>
BakeryUpdate decode<BakeryUpdate>(const nlohmann::json& body) {
    return decode_body<BakeryUpdate>(body, [](ObjectReader& in) {
        in.forbid("id", id_cannot_change);
        BakeryUpdate update;
        update.region = in.sent<std::string>("region");
        update.name = in.sent<std::string>("name");
        update.description = in.sent<std::string>("description");
        return update;
    });
}

}  // namespace pangeo_forge::model
