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

void run_script(db::Connection& connection, const std::string& script) {
    std::size_t start = 0;
    while (start < script.size()) {
        auto end = script.find(";\n\n", start);
        std::string chunk = script.substr(start, end == std::string::npos ? std::string::npos : end - start);
        start = end == std::string::npos ? script.size() : end + 3;
        while (chunk.rfind("--", 0) == 0 || chunk.rfind("\n", 0) == 0) {
            auto newline = chunk.find('\n');
            chunk = newline == std::string::npos ? "" : chunk.substr(newline + 1);
        }
        while (!chunk.empty() && (chunk.back() == '\n' || chunk.back() == ';')) chunk.pop_back();
        if (!chunk.empty()) connection.execute(chunk);
    }
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
