#pragma once
// What the fuzz targets hold the library to. An exception a function's header documents
// is an expected answer to bad input; anything else it throws escapes the target, and
// libFuzzer reports it as a crash with the input that caused it. A property that does
// not hold (a round trip that changes a value) aborts with a line saying which.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace pangeo_forge::fuzz {

// Runs `call`; true when it returns, false when it throws `Documented`.
template <class Documented, class Call>
bool succeeds(Call&& call) {
    try {
        call();
        return true;
    } catch (const Documented&) {
        return false;
    }
}

// Aborts, saying what did not hold, unless `holds`.
inline void require(bool holds, std::string_view what) {
    if (holds) return;
    std::fprintf(stderr, "property broken: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

}  // namespace pangeo_forge::fuzz
