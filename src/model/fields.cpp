// The described tables, the enums' type names and the pattern matcher of the field tables.

#include <map>
#include <mutex>
#include <regex>

#include "model/field_codecs.hpp"
#include "pangeo_forge/model/relations.hpp"

namespace pangeo_forge::model {

template <>
std::string_view enum_type_name<RecipeRunStatus>() {
    return "RecipeRunStatus";
}
template <>
std::string_view enum_type_name<RecipeRunConclusion>() {
    return "RecipeRunConclusion";
}
template <>
std::string_view enum_type_name<DatasetType>() {
    return "DatasetType";
}
template <>
std::string_view enum_type_name<RepoProvider>() {
    return "RepoProvider";
}

const std::vector<ModelDescription>& described_models() {
    static const std::vector<ModelDescription> models{describe<Bakery>(), describe<Feedstock>(),
                                                      describe<RecipeRun>(), describe<Dataset>()};
    return models;
}

// Each pattern is compiled once, on first use; std::regex_match on a const expression is
// safe from any number of threads.
bool matches(const Pattern& pattern, const std::string& value) {
    static std::mutex mutex;
    static std::map<const Pattern*, std::regex> compiled;
    const std::regex* expression = nullptr;
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = compiled.find(&pattern);
        if (it == compiled.end()) it = compiled.emplace(&pattern, std::regex(pattern.regex)).first;
        expression = &it->second;  // map nodes stay put
    }
    return std::regex_match(value, *expression);
}

}  // namespace pangeo_forge::model
