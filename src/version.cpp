#include "pangeo_forge/version.hpp"

#include <dlfcn.h>

namespace pangeo_forge {

std::string_view version() { return PANGEO_FORGE_VERSION; }

std::filesystem::path library_directory() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&library_directory), &info) == 0 || info.dli_fname == nullptr) return {};
    std::error_code error;
    auto path = std::filesystem::canonical(info.dli_fname, error);
    return error ? std::filesystem::path() : path.parent_path();
}

}  // namespace pangeo_forge
