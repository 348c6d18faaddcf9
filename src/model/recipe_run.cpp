#include "pangeo_forge/model/recipe_run.hpp"

#include <algorithm>
#include <cctype>

#include "model/field_codecs.hpp"

namespace pangeo_forge::model {
namespace {

using detail::ObjectReader;

constexpr const char* version_pattern = R"(^\d+\.\d+$)";

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool is_major_minor(const std::string& version) {
    auto dot = version.find('.');
    if (dot == std::string::npos) return false;
    return all_digits(std::string_view(version).substr(0, dot)) &&
           all_digits(std::string_view(version).substr(dot + 1));
}

// The Python service's TODO, done: a version is MAJOR.MINOR.
void check_version(ObjectReader& in, const std::optional<std::string>& version) {
    if (!version || is_major_minor(*version)) return;
    in.errors().add(detail::child_loc(in.loc(), "version"),
                    detail::Problem{std::string("string does not match regex \"") + version_pattern +
                                        "\"; use MAJOR.MINOR such as 1.0",
                                    "value_error.str.regex", nlohmann::json{{"pattern", version_pattern}}});
}

RecipeRunBase read_base(ObjectReader& in) {
    RecipeRunBase run;
    run.recipe_id = in.required<std::string>("recipe_id").value_or("");
    run.bakery_id = in.required<std::int64_t>("bakery_id").value_or(0);
    run.feedstock_id = in.required<std::int64_t>("feedstock_id").value_or(0);
    run.head_sha = in.required<std::string>("head_sha").value_or("");
    auto version = in.required<std::string>("version");
    run.version = version.value_or("");
    run.started_at = in.required<Timestamp>("started_at").value_or(Timestamp{});
    run.completed_at = in.nullable<Timestamp>("completed_at");
    run.conclusion = in.nullable<RecipeRunConclusion>("conclusion");
    run.status = in.with_default<RecipeRunStatus>("status", RecipeRunStatus::queued);
    run.message = in.nullable<std::string>("message");
    run.is_test = in.with_default<bool>("is_test", false);
    run.dataset_type = in.nullable<DatasetType>("dataset_type");
    run.dataset_public_url = in.nullable<std::string>("dataset_public_url");
    check_version(in, version);
    return run;
}

nlohmann::json base_json(const RecipeRunBase& run) {
    return {{"recipe_id", run.recipe_id},
            {"bakery_id", run.bakery_id},
            {"feedstock_id", run.feedstock_id},
            {"head_sha", run.head_sha},
            {"version", run.version},
            {"started_at", field_json(run.started_at)},
            {"completed_at", field_json(run.completed_at)},
            {"conclusion", field_json(run.conclusion)},
            {"status", field_json(run.status)},
            {"message", field_json(run.message)},
            {"is_test", run.is_test},
            {"dataset_type", field_json(run.dataset_type)},
            {"dataset_public_url", field_json(run.dataset_public_url)}};
}

auto base_tie(const RecipeRunBase& run) {
    return std::tie(run.recipe_id, run.bakery_id, run.feedstock_id, run.head_sha, run.version, run.started_at,
                    run.completed_at, run.conclusion, run.status, run.message, run.is_test, run.dataset_type,
                    run.dataset_public_url);
}

auto update_tie(const RecipeRunUpdate& u) {
    return std::tie(u.recipe_id, u.bakery_id, u.feedstock_id, u.head_sha, u.version, u.started_at, u.completed_at,
                    u.conclusion, u.status, u.message, u.is_test, u.dataset_type, u.dataset_public_url);
}

}  // namespace

bool RecipeRunCreate::operator==(const RecipeRunCreate& other) const { return base_tie(*this) == base_tie(other); }

bool RecipeRun::operator==(const RecipeRun& other) const {
    return id == other.id && base_tie(*this) == base_tie(other);
}

bool RecipeRunUpdate::operator==(const RecipeRunUpdate& other) const {
    return update_tie(*this) == update_tie(other);
}

void apply_update(RecipeRun& run, const RecipeRunUpdate& update) {
    assign_if_sent(run.recipe_id, update.recipe_id);
    assign_if_sent(run.bakery_id, update.bakery_id);
    assign_if_sent(run.feedstock_id, update.feedstock_id);
    assign_if_sent(run.head_sha, update.head_sha);
    assign_if_sent(run.version, update.version);
    assign_if_sent(run.started_at, update.started_at);
    assign_if_sent(run.completed_at, update.completed_at);
    assign_if_sent(run.conclusion, update.conclusion);
    assign_if_sent(run.status, update.status);
    assign_if_sent(run.message, update.message);
    assign_if_sent(run.is_test, update.is_test);
    assign_if_sent(run.dataset_type, update.dataset_type);
    assign_if_sent(run.dataset_public_url, update.dataset_public_url);
}

void to_json(nlohmann::json& out, const RecipeRunCreate& run) { out = base_json(run); }

void to_json(nlohmann::json& out, const RecipeRun& run) {
    out = base_json(run);
    out["id"] = run.id;
}

void to_json(nlohmann::json& out, const RecipeRunUpdate& update) {
    out = nlohmann::json::object();
    put_if_sent(out, "recipe_id", update.recipe_id);
    put_if_sent(out, "bakery_id", update.bakery_id);
    put_if_sent(out, "feedstock_id", update.feedstock_id);
    put_if_sent(out, "head_sha", update.head_sha);
    put_if_sent(out, "version", update.version);
    put_if_sent(out, "started_at", update.started_at);
    put_if_sent(out, "completed_at", update.completed_at);
    put_if_sent(out, "conclusion", update.conclusion);
    put_if_sent(out, "status", update.status);
    put_if_sent(out, "message", update.message);
    put_if_sent(out, "is_test", update.is_test);
    put_if_sent(out, "dataset_type", update.dataset_type);
    put_if_sent(out, "dataset_public_url", update.dataset_public_url);
}

template <>
RecipeRunCreate decode<RecipeRunCreate>(const nlohmann::json& body) {
    return decode_body<RecipeRunCreate>(body, [](ObjectReader& in) {
        in.forbid("id", id_assigned_by_database);
        return RecipeRunCreate{read_base(in)};
    });
}

template <>
RecipeRun decode<RecipeRun>(const nlohmann::json& body) {
    return decode_body<RecipeRun>(body, [](ObjectReader& in) {
        RecipeRun run{read_base(in)};
        run.id = in.required<std::int64_t>("id").value_or(0);
        return run;
    });
}

template <>
RecipeRunUpdate decode<RecipeRunUpdate>(const nlohmann::json& body) {
    return decode_body<RecipeRunUpdate>(body, [](ObjectReader& in) {
        in.forbid("id", id_cannot_change);
        RecipeRunUpdate update;
        update.recipe_id = in.sent<std::string>("recipe_id");
        update.bakery_id = in.sent<std::int64_t>("bakery_id");
        update.feedstock_id = in.sent<std::int64_t>("feedstock_id");
        update.head_sha = in.sent<std::string>("head_sha");
        update.version = in.sent<std::string>("version");
        update.started_at = in.sent<Timestamp>("started_at");
        update.completed_at = in.sent_nullable<Timestamp>("completed_at");
        update.conclusion = in.sent_nullable<RecipeRunConclusion>("conclusion");
        update.status = in.sent<RecipeRunStatus>("status");
        update.message = in.sent_nullable<std::string>("message");
        update.is_test = in.sent<bool>("is_test");
        update.dataset_type = in.sent_nullable<DatasetType>("dataset_type");
        update.dataset_public_url = in.sent_nullable<std::string>("dataset_public_url");
        check_version(in, update.version);
        return update;
    });
}

}  // namespace pangeo_forge::model
