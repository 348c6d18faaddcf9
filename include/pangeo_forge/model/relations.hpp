#pragma once
// The read-with-relations forms: what GET /bakeries/{id}, /feedstocks/{id} and
// /recipe_runs/{id} return. In JSON the row's own fields sit at the top level beside
// the relation ("recipe_runs", or "bakery" and "feedstock").
//
// Thread safety: plain values and pure functions.

#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/bakery.hpp"
#include "pangeo_forge/model/decode.hpp"
#include "pangeo_forge/model/feedstock.hpp"
#include "pangeo_forge/model/recipe_run.hpp"

namespace pangeo_forge::model {

struct BakeryWithRecipeRuns {
    Bakery bakery;
    std::vector<RecipeRun> recipe_runs;
    bool operator==(const BakeryWithRecipeRuns& other) const;
};

struct FeedstockWithRecipeRuns {
    Feedstock feedstock;
    std::vector<RecipeRun> recipe_runs;
    bool operator==(const FeedstockWithRecipeRuns& other) const;
};

struct RecipeRunWithRelations {
    RecipeRun recipe_run;
    Bakery bakery;
    Feedstock feedstock;
    bool operator==(const RecipeRunWithRelations& other) const;
};

void to_json(nlohmann::json& out, const BakeryWithRecipeRuns& value);
void to_json(nlohmann::json& out, const FeedstockWithRecipeRuns& value);
void to_json(nlohmann::json& out, const RecipeRunWithRelations& value);

template <> BakeryWithRecipeRuns decode<BakeryWithRecipeRuns>(const nlohmann::json& body);
template <> FeedstockWithRecipeRuns decode<FeedstockWithRecipeRuns>(const nlohmann::json& body);
template <> RecipeRunWithRelations decode<RecipeRunWithRelations>(const nlohmann::json& body);

}  // namespace pangeo_forge::model
