#pragma once
// Reading rows back in tests: every value as text, so one expectation fits both backends.

#include <string>
#include <vector>

#include "pangeo_forge/db/database.hpp"

namespace pangeo_forge::test {

// The rows of `sql`, each as its values joined with '|'; NULL as "NULL".
std::vector<std::string> query_rows(db::Connection& connection, const std::string& sql);

// The single value of a one-row, one-column query, as text.
std::string query_value(db::Connection& connection, const std::string& sql);

}  // namespace pangeo_forge::test
