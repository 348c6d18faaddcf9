#include "support/query.hpp"

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::test {

std::vector<std::string> query_rows(db::Connection& connection, const std::string& sql) {
    std::vector<std::string> rows;
    for (const auto& row : db::query_as_text(connection, sql)) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
        rows.push_back(line);
    }
    return rows;
}

std::string query_value(db::Connection& connection, const std::string& sql) {
    auto rows = query_rows(connection, sql);
    return rows.empty() ? "" : rows.front();
}

std::string error_message(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
    for (const auto& line : lines) {
        if (line.find(text) != std::string::npos) return true;
    }
    return false;
}

}  // namespace pangeo_forge::test
