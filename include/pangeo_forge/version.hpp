#pragma once
// The library's version, as built, and where it was loaded from.

#include <filesystem>
#include <string_view>

namespace pangeo_forge {

std::string_view version();

// The directory libpangeo_forge was loaded from (the build tree, an install's lib/, or
// the Python package): what ships beside the library is looked for there. Empty when the
// loader cannot tell.
std::filesystem::path library_directory();

}  // namespace pangeo_forge
