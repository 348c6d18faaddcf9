#include "load.hpp"

#include <dlfcn.h>

#include <string>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/version.hpp"

namespace pangeo_forge::cli {
namespace {

// The entry point `symbol` of the library file `name`; dlopen keeps a loaded library
// loaded, so a second call finds it at once.
void* entry_point(const char* name, const char* symbol) {
    void* handle = nullptr;
    for (const auto& candidate : {(library_directory() / name).string(), std::string(name)}) {
        if ((handle = dlopen(candidate.c_str(), RTLD_NOW)) != nullptr) break;
    }
    if (handle == nullptr) {
        throw ConfigError(std::string("cannot load ") + name + " (" + dlerror() +
                          "): it is installed with pangeo-forge; reinstall it");
    }
    void* found = dlsym(handle, symbol);
    if (found == nullptr) {
        throw ConfigError(std::string(name) + " has no " + symbol +
                          " entry point: it is from another version of pangeo-forge; reinstall it");
    }
    return found;
}

}  // namespace

const api::ServerFunctions& http_library() {
    using Functions = const api::ServerFunctions* (*)();
    return *reinterpret_cast<Functions>(entry_point(PANGEO_FORGE_HTTP_LIBRARY, api::server_functions_symbol))();
}

const client::ClientFunctions& client_library() {
    using Functions = const client::ClientFunctions* (*)();
    return *reinterpret_cast<Functions>(entry_point(PANGEO_FORGE_CLIENT_LIBRARY, client::client_functions_symbol))();
}

const github::AppFunctions& github_library() {
    using Functions = const github::AppFunctions* (*)();
    return *reinterpret_cast<Functions>(entry_point(PANGEO_FORGE_GITHUB_LIBRARY, github::app_functions_symbol))();
}

}  // namespace pangeo_forge::cli
