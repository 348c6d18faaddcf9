#pragma once
// Reading results back in tests: rows with every value as text, so one expectation fits
// both backends, and the message of an expected error.

#include <functional>
#include <string>
#include <vector>

#include "pangeo_forge/db/database.hpp"

namespace pangeo_forge::test {

// The rows of `sql`, each as its values joined with '|'; NULL as "NULL".
std::vector<std::string> query_rows(db::Connection& connection, const std::string& sql);

// The single value of a one-row, one-column query, as text.
std::string query_value(db::Connection& connection, const std::string& sql);

// The message of the pangeo_forge::Error that `action` throws, or "" when it throws none.
std::string error_message(const std::function<void()>& action);

// Runs a migration script (offline mode's, db diff's) statement by statement, BEGIN and COMMIT
// included, as a database administrator's client would.
void run_script(db::Connection& connection, const std::string& script);

// Whether any of `lines` holds `text`.
bool mentions(const std::vector<std::string>& lines, const std::string& text);

}  // namespace pangeo_forge::test
