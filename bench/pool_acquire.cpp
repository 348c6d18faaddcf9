// What the pool costs a request on PostgreSQL: a lend alone (acquire() and give back, with
// the check that the server still holds the idle connection), beside a lend with the
// smallest query a request makes, so the one reads as a share of the other. A server on
// the same machine makes the round trip, and so the query, as cheap as it gets.
//
//   PANGEO_FORGE_BENCH_POSTGRES_URL=postgresql://... build/bench/bench_pool [lends]

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/db/statement.hpp"

using namespace pangeo_forge;

namespace {

double microseconds_each(int count, const std::function<void()>& action) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) action();
    std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
    return elapsed.count() / count;
}

}  // namespace

int main(int argc, char** argv) {
    const char* url = std::getenv("PANGEO_FORGE_BENCH_POSTGRES_URL");
    if (url == nullptr) {
        std::cerr << "set PANGEO_FORGE_BENCH_POSTGRES_URL to the PostgreSQL server to measure against\n";
        return 2;
    }
    int lends = argc > 1 ? std::atoi(argv[1]) : 100000;
    db::Database database(url);
    auto select_one = [&] { db::query_one(*database.acquire(), "SELECT 1", {db::ColumnType::integer}); };
    select_one();  // prepares the statement on the pool's one connection
    double lend = microseconds_each(lends, [&] { database.acquire(); });
    double lend_and_query = microseconds_each(lends, select_one);
    std::cout << "acquire and give back: " << lend << " us\n"
              << "acquire, SELECT 1, give back: " << lend_and_query << " us\n";
    return 0;
}
