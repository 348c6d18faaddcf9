#pragma once
// The libraries the command loads only for the verbs that need them (the HTTP server for
// `serve`, the remote client for `api --server`, the GitHub App for a `serve` configured
// with it), so that the other verbs neither load their code nor the libraries they bring.

#include "pangeo_forge/api/server.hpp"
#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/github/app.hpp"

namespace pangeo_forge::cli {

// Each loads its library once, beside libpangeo_forge first (the build tree, an install's
// lib/, the Python package), else where the loader searches. ConfigError when it cannot.
const api::ServerFunctions& http_library();
const client::ClientFunctions& client_library();
const github::AppFunctions& github_library();

}  // namespace pangeo_forge::cli
