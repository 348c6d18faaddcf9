#include "pangeo_forge/error.hpp"

namespace pangeo_forge {
namespace {

std::string summarise(const std::vector<FieldError>& errors) {
    std::string text = std::to_string(errors.size()) +
                       (errors.size() == 1 ? " validation error" : " validation errors");
    for (const auto& error : errors) {
        text += "\n  ";
        for (std::size_t i = 0; i < error.loc.size(); ++i) {
            text += (i ? "." : "") + error.loc[i];
        }
        text += ": " + error.msg;
    }
    return text;
}

}  // namespace

bool FieldError::operator==(const FieldError& other) const {
    return loc == other.loc && msg == other.msg && type == other.type && ctx == other.ctx;
}

nlohmann::json to_json(const FieldError& error) {
    nlohmann::json out = {{"loc", error.loc}, {"msg", error.msg}, {"type", error.type}};
    if (!error.ctx.is_null()) out["ctx"] = error.ctx;
    return out;
}

ValidationError::ValidationError(std::vector<FieldError> errors)
    : Error(summarise(errors)), errors_(std::move(errors)) {}

nlohmann::json ValidationError::detail() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& error : errors_) list.push_back(to_json(error));
    return {{"detail", list}};
}

}  // namespace pangeo_forge
