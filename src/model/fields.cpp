// The described tables, the enums' type names and the pattern matcher of the field tables.


#include "model/field_codecs.hpp"
#include "pangeo_forge/model/dispatch.hpp"
#include "pangeo_forge/model/github.hpp"
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

const std::vector<ModelDescription>& described_tables() {
    static const std::vector<ModelDescription> tables = [] {
        std::vector<ModelDescription> tables;
        for (const auto& model : described_models()) {
            if (model.stored()) tables.push_back(model);
        }
        tables.push_back(describe<Dispatch>());
        tables.push_back(describe<GithubDelivery>());
        tables.push_back(describe<GithubReport>());
        return tables;
    }();
    return tables;
}

bool matches(const Pattern& pattern, const std::string& value) { return pattern.accepts(value); }

}  // namespace pangeo_forge::model
