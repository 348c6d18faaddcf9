#pragma once
// The library's version, as built.

#include <string_view>

namespace pangeo_forge {

std::string_view version();

}  // namespace pangeo_forge
