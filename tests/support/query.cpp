#include "support/query.hpp"

#include <soci/soci.h>

#include "db/soci_access.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::test {
namespace {

std::string value_text(const soci::row& row, std::size_t i) {
    if (row.get_indicator(i) == soci::i_null) return "NULL";
    switch (row.get_properties(i).get_data_type()) {
        case soci::dt_string: return row.get<std::string>(i);
        case soci::dt_integer: return std::to_string(row.get<int>(i));
        case soci::dt_long_long: return std::to_string(row.get<long long>(i));
        case soci::dt_unsigned_long_long: return std::to_string(row.get<unsigned long long>(i));
        case soci::dt_double: return std::to_string(row.get<double>(i));
        default: return "?";
    }
}

}  // namespace

std::vector<std::string> query_rows(db::Connection& connection, const std::string& sql) {
    std::vector<std::string> rows;
    soci::rowset<soci::row> result = db::soci_session(connection).prepare << sql;
    for (const auto& row : result) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + value_text(row, i);
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
