#include "pangeo_forge/model/relations.hpp"

#include "model/field_codecs.hpp"

namespace pangeo_forge::model {
namespace {

using detail::ErrorList;
using detail::Loc;
using nlohmann::json;

// Decodes a value nested inside a larger body, moving its errors under `loc`.
template <class Form>
std::optional<Form> decode_nested(const json& value, const Loc& loc, ErrorList& errors) {
    try {
        return decode<Form>(value);
    } catch (const ValidationError& error) {
        for (FieldError field : error.errors()) {
            Loc nested = loc;
            nested.insert(nested.end(), field.loc.begin() + 1, field.loc.end());  // drop the inner "body"
            field.loc = std::move(nested);
            errors.add(std::move(field));
        }
        return std::nullopt;
    }
}

void require_object(const json& body) {
    if (body.is_object()) return;
    ErrorList errors;
    errors.add(Loc{"body"}, detail::Problem{"value is not a valid dict", "type_error.dict", {}});
    errors.throw_if_any();
}

// The row's own fields: the body without its relation keys.
json without(const json& body, std::initializer_list<const char*> keys) {
    json own = body;
    for (const char* key : keys) own.erase(key);
    return own;
}

std::vector<RecipeRun> decode_runs(const json& body, ErrorList& errors) {
    std::vector<RecipeRun> runs;
    const Loc loc{"body", "recipe_runs"};
    auto it = body.find("recipe_runs");
    if (it == body.end()) {
        errors.add(loc, detail::Problem{"field required", "value_error.missing", {}});
        return runs;
    }
    if (!it->is_array()) {
        errors.add(loc, detail::Problem{"value is not a valid list", "type_error.list", {}});
        return runs;
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
        if (auto run = decode_nested<RecipeRun>((*it)[i], detail::child_loc(loc, std::to_string(i)), errors)) {
            runs.push_back(std::move(*run));
        }
    }
    return runs;
}

template <class Row, class WithRuns>
WithRuns decode_with_runs(const json& body) {
    require_object(body);
    ErrorList errors;
    WithRuns out;
    if (auto row = decode_nested<Row>(without(body, {"recipe_runs"}), Loc{"body"}, errors)) out = {*row, {}};
    out.recipe_runs = decode_runs(body, errors);
    errors.throw_if_any();
    return out;
}

json runs_json(const std::vector<RecipeRun>& runs) {
    json list = json::array();
    for (const auto& run : runs) list.push_back(run);
    return list;
}

}  // namespace

bool BakeryWithRecipeRuns::operator==(const BakeryWithRecipeRuns& other) const {
    return bakery == other.bakery && recipe_runs == other.recipe_runs;
}

bool FeedstockWithRecipeRuns::operator==(const FeedstockWithRecipeRuns& other) const {
    return feedstock == other.feedstock && recipe_runs == other.recipe_runs;
}

bool RecipeRunWithRelations::operator==(const RecipeRunWithRelations& other) const {
    return recipe_run == other.recipe_run && bakery == other.bakery && feedstock == other.feedstock;
}

void to_json(json& out, const BakeryWithRecipeRuns& value) {
    out = value.bakery;
    out["recipe_runs"] = runs_json(value.recipe_runs);
}

void to_json(json& out, const FeedstockWithRecipeRuns& value) {
    out = value.feedstock;
    out["recipe_runs"] = runs_json(value.recipe_runs);
}

void to_json(json& out, const RecipeRunWithRelations& value) {
    out = value.recipe_run;
    out["bakery"] = value.bakery;
    out["feedstock"] = value.feedstock;
}

template <>
BakeryWithRecipeRuns decode<BakeryWithRecipeRuns>(const json& body) {
    return decode_with_runs<Bakery, BakeryWithRecipeRuns>(body);
}

template <>
FeedstockWithRecipeRuns decode<FeedstockWithRecipeRuns>(const json& body) {
    return decode_with_runs<Feedstock, FeedstockWithRecipeRuns>(body);
}

template <>
RecipeRunWithRelations decode<RecipeRunWithRelations>(const json& body) {
    require_object(body);
    ErrorList errors;
    RecipeRunWithRelations out;
    auto run = decode_nested<RecipeRun>(without(body, {"bakery", "feedstock"}), Loc{"body"}, errors);
    const json missing;  // a relation left out reads as null: "value is not a valid dict"
    auto related = [&](const char* key) -> const json& {
        auto it = body.find(key);
        return it == body.end() ? missing : *it;
    };
    auto bakery = decode_nested<Bakery>(related("bakery"), Loc{"body", "bakery"}, errors);
    auto feedstock = decode_nested<Feedstock>(related("feedstock"), Loc{"body", "feedstock"}, errors);
    errors.throw_if_any();
    return RecipeRunWithRelations{*run, *bakery, *feedstock};
}

}  // namespace pangeo_forge::model
