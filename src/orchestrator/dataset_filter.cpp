// The datasets filter as the API's query and the Python module's argument spell it.

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

namespace pangeo_forge::orchestrator {

DatasetFilter parse_dataset_filter(const std::string& text, std::vector<std::string> loc) {
    if (text == "all") return DatasetFilter::all;
    if (text == "production") return DatasetFilter::production;
    if (text == "test") return DatasetFilter::test;
    throw ValidationError({FieldError{std::move(loc),
                                      "value is not a valid enumeration member; permitted: 'all', 'production', 'test'",
                                      "type_error.enum",
                                      {{"enum_values", {"all", "production", "test"}}}}});
}

}  // namespace pangeo_forge::orchestrator
