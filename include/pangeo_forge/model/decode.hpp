#pragma once
// decode<T>(json): the one entry point that turns a request body into a model form.
// It throws ValidationError listing every problem at once, each with its field path
// (["body", "status"]) in FastAPI's shape. Each model header declares its forms.
//
// Thread safety: pure functions.

#include <nlohmann/json.hpp>

namespace pangeo_forge::model {

template <class Form>
Form decode(const nlohmann::json& body);

}  // namespace pangeo_forge::model
