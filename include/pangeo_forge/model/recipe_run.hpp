#pragma once
// A recipe run: one execution of one recipe of a feedstock in a bakery. Its status and
// conclusion mirror GitHub's check-runs API.
//
// Thread safety: plain values and pure functions.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/decode.hpp"
#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/model/fields.hpp"
#include "pangeo_forge/model/timestamp.hpp"

namespace pangeo_forge::model {

// "1.0", "12.34": digits, a dot, digits.
bool is_major_minor(std::string_view version);

// The rule on a recipe run's version: the Python service's TODO, done.
inline constexpr Pattern major_minor{R"(^\d+\.\d+$)", "use MAJOR.MINOR such as 1.0", is_major_minor};

struct RecipeRunBase {
    std::string recipe_id;  // the recipe's name in the feedstock's meta.yaml
    std::int64_t bakery_id = 0;
    std::int64_t feedstock_id = 0;
    std::string head_sha;   // the commit the run was executed from
    std::string version;    // "MAJOR.MINOR" (major_minor)
    Timestamp started_at{};
    std::optional<Timestamp> completed_at;
    std::optional<RecipeRunConclusion> conclusion;
    RecipeRunStatus status = RecipeRunStatus::queued;  // a create's default (the table: defaulted())
    std::optional<std::string> message;
    bool is_test = false;   // a create's default too
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

template <>
struct FieldTable<RecipeRun> {
    using Base = RecipeRunBase;
    using Create = RecipeRunCreate;
    using Row = RecipeRun;
    using Update = RecipeRunUpdate;
    static constexpr const char* name = "RecipeRun";
    static constexpr const char* table = "reciperun";
    static const auto& fields() {
        static const auto list = std::make_tuple(
            field("recipe_id", &Base::recipe_id, &Update::recipe_id)
                .described("the recipe's name in the feedstock's meta.yaml"),
            field("bakery_id", &Base::bakery_id, &Update::bakery_id).referring_to("bakery"),
            field("feedstock_id", &Base::feedstock_id, &Update::feedstock_id).referring_to("feedstock"),
            field("head_sha", &Base::head_sha, &Update::head_sha).described("the commit the run was executed from"),
            field("version", &Base::version, &Update::version).matching(major_minor),
            field("started_at", &Base::started_at, &Update::started_at),
            field("completed_at", &Base::completed_at, &Update::completed_at),
            field("conclusion", &Base::conclusion, &Update::conclusion),
            field("status", &Base::status, &Update::status).defaulted(),
            field("message", &Base::message, &Update::message),
            field("is_test", &Base::is_test, &Update::is_test)
                .defaulted()
                .described("a run on a pruned subset of the data"),
            field("dataset_type", &Base::dataset_type, &Update::dataset_type),
            field("dataset_public_url", &Base::dataset_public_url, &Update::dataset_public_url)
                .described("where the produced dataset can be read"));
        return list;
    }
    // A claim takes a bakery's oldest queued run (orchestrator/dispatch.cpp): without this
    // index it would read every run the table holds, completed ones included.
    static std::vector<std::vector<std::string>> indexes() { return {{"bakery_id", "status", "started_at", "id"}}; }
};

void apply_update(RecipeRun& run, const RecipeRunUpdate& update);

void to_json(nlohmann::json& out, const RecipeRunCreate& run);
void to_json(nlohmann::json& out, const RecipeRun& run);
void to_json(nlohmann::json& out, const RecipeRunUpdate& update);

template <> RecipeRunCreate decode<RecipeRunCreate>(const nlohmann::json& body);
template <> RecipeRun decode<RecipeRun>(const nlohmann::json& body);
template <> RecipeRunUpdate decode<RecipeRunUpdate>(const nlohmann::json& body);

// A recipe run's dataset, as GET /feedstocks/{id}/datasets lists it: a projection of a
// recipe run that has a dataset, so its url is never null.
struct Dataset {
    std::string recipe_id;
    std::int64_t feedstock_id = 0;
    std::optional<DatasetType> dataset_type;
    std::string dataset_public_url;
    bool is_test = false;

    bool operator==(const Dataset& other) const;
};

template <>
struct FieldTable<Dataset> {
    using Base = Dataset;
    using Row = Dataset;
    using Update = NoUpdate;
    static constexpr const char* name = "Dataset";
    static constexpr const char* table = nullptr;  // a projection of reciperun
    static const auto& fields() {
        using Run = RecipeRunBase;
        static const auto list = std::make_tuple(pick<RecipeRun>(&Run::recipe_id, &Dataset::recipe_id),
                                                 pick<RecipeRun>(&Run::feedstock_id, &Dataset::feedstock_id),
                                                 pick<RecipeRun>(&Run::dataset_type, &Dataset::dataset_type),
                                                 pick<RecipeRun>(&Run::dataset_public_url, &Dataset::dataset_public_url),
                                                 pick<RecipeRun>(&Run::is_test, &Dataset::is_test));
        return list;
    }
};

void to_json(nlohmann::json& out, const Dataset& dataset);
template <> Dataset decode<Dataset>(const nlohmann::json& body);

// A run's message as a JSON object: what the queue and the GitHub App write there
// (job_name, trace, deployment_id, ...), each under its key. A message that is not a JSON
// object (a client's plain text) comes back as {"message": text}; none as {}.
nlohmann::json message_object(const RecipeRun& run);

}  // namespace pangeo_forge::model
