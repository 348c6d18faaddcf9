#include "pangeo_forge/model/enums.hpp"

#include <algorithm>

namespace pangeo_forge::model {
namespace {

template <class Enum>
std::string_view name_of(Enum value) {
    return enum_names<Enum>().at(static_cast<std::size_t>(value));
}

}  // namespace

// Spellings in declaration order: the index of a spelling is the enum's value.
template <>
const std::vector<std::string_view>& enum_names<RecipeRunStatus>() {
    static const std::vector<std::string_view> names{"queued", "in_progress", "completed"};
    return names;
}

template <>
const std::vector<std::string_view>& enum_names<RecipeRunConclusion>() {
    static const std::vector<std::string_view> names{"action_required", "cancelled", "failure", "neutral",
                                                     "success",         "skipped",   "stale",   "timed_out"};
    return names;
}

template <>
const std::vector<std::string_view>& enum_names<DatasetType>() {
    static const std::vector<std::string_view> names{"zarr", "kerchunk", "parquet"};
    return names;
}

template <>
const std::vector<std::string_view>& enum_names<RepoProvider>() {
    static const std::vector<std::string_view> names{"github"};
    return names;
}

template <class Enum>
std::optional<Enum> parse_enum(std::string_view text) {
    const auto& names = enum_names<Enum>();
    auto it = std::find(names.begin(), names.end(), text);
    if (it == names.end()) return std::nullopt;
    return static_cast<Enum>(it - names.begin());
}

template std::optional<RecipeRunStatus> parse_enum<RecipeRunStatus>(std::string_view);
template std::optional<RecipeRunConclusion> parse_enum<RecipeRunConclusion>(std::string_view);
template std::optional<DatasetType> parse_enum<DatasetType>(std::string_view);
template std::optional<RepoProvider> parse_enum<RepoProvider>(std::string_view);

std::string_view to_string(RecipeRunStatus value) { return name_of(value); }
std::string_view to_string(RecipeRunConclusion value) { return name_of(value); }
std::string_view to_string(DatasetType value) { return name_of(value); }
std::string_view to_string(RepoProvider value) { return name_of(value); }

}  // namespace pangeo_forge::model
