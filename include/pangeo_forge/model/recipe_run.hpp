#pragma once
// A recipe run: one execution of one recipe of a feedstock in a bakery. Its status and
// conclusion mirror GitHub's check-runs API.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/decode.hpp"
#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/model/timestamp.hpp"

namespace pangeo_forge::model {

struct RecipeRunBase {
    std::string recipe_id;  // the recipe's name in the feedstock's meta.yaml
    std::int64_t bakery_id = 0;
    std::int64_t feedstock_id = 0;
    std::string head_sha;   // the commit the run was executed from
    std::string version;    // "MAJOR.MINOR"
    Timestamp started_at{};
    std::optional<Timestamp> completed_at;
    std::optional<RecipeRunConclusion> conclusion;
    RecipeRunStatus status = RecipeRunStatus::queued;
    std::optional<std::string> message;
    bool is_test = false;   // a run on a pruned subset of the data
    std::optional<DatasetType> dataset_type;
    std::optional<std::string> dataset_public_url;
};

struct RecipeRunCreate : RecipeRunBase {
    bool operator==(const RecipeRunCreate& other) const;
};

struct RecipeRun : RecipeRunBase {
    std::int64_t id = 0;
    bool operator==(const RecipeRun& other) const;
};

// A partial update. For a nullable column the field is an optional of an optional:
// the outer says whether the client sent it, the inner holds the value or null.
struct RecipeRunUpdate {
    std::optional<std::string> recipe_id;
    std::optional<std::int64_t> bakery_id;
    std::optional<std::int64_t> feedstock_id;
    std::optional<std::string> head_sha;
    std::optional<std::string> version;
    std::optional<Timestamp> started_at;
    std::optional<std::optional<Timestamp>> completed_at;
    std::optional<std::optional<RecipeRunConclusion>> conclusion;
    std::optional<RecipeRunStatus> status;
    std::optional<std::optional<std::string>> message;
    std::optional<bool> is_test;
    std::optional<std::optional<DatasetType>> dataset_type;
    std::optional<std::optional<std::string>> dataset_public_url;

    bool operator==(const RecipeRunUpdate& other) const;
};

void apply_update(RecipeRun& run, const RecipeRunUpdate& update);

void to_json(nlohmann::json& out, const RecipeRunCreate& run);
void to_json(nlohmann::json& out, const RecipeRun& run);
void to_json(nlohmann::json& out, const RecipeRunUpdate& update);

template <> RecipeRunCreate decode<RecipeRunCreate>(const nlohmann::json& body);
template <> RecipeRun decode<RecipeRun>(const nlohmann::json& body);
template <> RecipeRunUpdate decode<RecipeRunUpdate>(const nlohmann::json& body);

}  // namespace pangeo_forge::model
