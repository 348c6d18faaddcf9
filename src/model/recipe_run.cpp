#include "pangeo_forge/model/recipe_run.hpp"

#include <algorithm>

#include "model/field_codecs.hpp"

namespace pangeo_forge::model {

bool is_major_minor(std::string_view version) {
    auto digits = [](std::string_view text) {
        return !text.empty() &&
               std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
    };
    auto dot = version.find('.');
    return dot != std::string_view::npos && digits(version.substr(0, dot)) && digits(version.substr(dot + 1));
}

using RecipeRunCodecs = Codecs<RecipeRun>;

bool RecipeRunCreate::operator==(const RecipeRunCreate& other) const { return RecipeRunCodecs::same(*this, other); }
bool RecipeRun::operator==(const RecipeRun& other) const { return RecipeRunCodecs::same(*this, other); }
bool RecipeRunUpdate::operator==(const RecipeRunUpdate& other) const { return RecipeRunCodecs::same(*this, other); }

void apply_update(RecipeRun& run, const RecipeRunUpdate& update) { apply_sent_fields<RecipeRun>(run, update); }

void to_json(nlohmann::json& out, const RecipeRunCreate& run) { out = RecipeRunCodecs::json_of(run); }
void to_json(nlohmann::json& out, const RecipeRun& run) { out = RecipeRunCodecs::json_of(run); }
void to_json(nlohmann::json& out, const RecipeRunUpdate& update) { out = RecipeRunCodecs::json_of(update); }

template <>
RecipeRunCreate decode<RecipeRunCreate>(const nlohmann::json& body) {
    return RecipeRunCodecs::decode_create(body);
}

template <>
RecipeRun decode<RecipeRun>(const nlohmann::json& body) {
    return RecipeRunCodecs::decode_row(body);
}

template <>
RecipeRunUpdate decode<RecipeRunUpdate>(const nlohmann::json& body) {
    return RecipeRunCodecs::decode_update(body);
}

// A dataset has no create or update form: it is only read.
bool Dataset::operator==(const Dataset& other) const { return same_row_fields<Dataset>(*this, other); }

void to_json(nlohmann::json& out, const Dataset& dataset) { out = row_fields_json<Dataset>(dataset); }

template <>
Dataset decode<Dataset>(const nlohmann::json& body) {
    return decode_body<Dataset>(body, [](detail::ObjectReader& in) { return read_fields<Dataset>(in, Checks::stored_row); });
}

nlohmann::json message_object(const RecipeRun& run) {
    if (!run.message) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(*run.message, nullptr, false);
    if (parsed.is_object()) return parsed;
    return {{"message", *run.message}};
}

}  // namespace pangeo_forge::model
