#include "pangeo_forge/model/recipe_run.hpp"

#include <algorithm>
#include <cctype>

#include "model/field_lists.hpp"

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

}  // namespace

bool RecipeRunCreate::operator==(const RecipeRunCreate& other) const {
    return same_row_fields<RecipeRunUpdate, RecipeRunBase>(*this, other);
}

bool RecipeRun::operator==(const RecipeRun& other) const {
    return id == other.id && same_row_fields<RecipeRunUpdate, RecipeRunBase>(*this, other);
}

bool RecipeRunUpdate::operator==(const RecipeRunUpdate& other) const { return same_sent_fields(*this, other); }

void apply_update(RecipeRun& run, const RecipeRunUpdate& update) { apply_sent_fields(run, update); }

void to_json(nlohmann::json& out, const RecipeRunCreate& run) { out = row_fields_json<RecipeRunUpdate>(run); }

void to_json(nlohmann::json& out, const RecipeRun& run) {
    out = row_fields_json<RecipeRunUpdate>(run);
    out["id"] = run.id;
}

void to_json(nlohmann::json& out, const RecipeRunUpdate& update) { out = sent_fields_json(update); }

template <>
RecipeRunCreate decode<RecipeRunCreate>(const nlohmann::json& body) {
    return decode_create<RecipeRunCreate>(body, read_base);
}

template <>
RecipeRun decode<RecipeRun>(const nlohmann::json& body) {
    return decode_row<RecipeRun>(body, read_base);
}

template <>
RecipeRunUpdate decode<RecipeRunUpdate>(const nlohmann::json& body) {
    return decode_body<RecipeRunUpdate>(body, [](ObjectReader& in) {
        auto update = read_update<RecipeRunUpdate>(in);
        check_version(in, update.version);
        return update;
    });
}

}  // namespace pangeo_forge::model
