// The remote client's reading of a server's answers (src/client/answer.hpp): a status, headers
// and a body turned into each route's value or the exception the orchestrator throws
// in-process. An input is an answer as it arrives:
//
//   422                               the status (anything else: 200)
//   retry-after: 5                    headers, one a line, up to an empty line
//                                     (names in lower case and values trimmed, as the client keeps them)
//   {"detail": [...]}                 the body
//
// and every route reads it: a form, a list, a count, a claim, a heartbeat, a delete.
// Checked beyond "no crash": each answer gives each route exactly one outcome, the one its
// status calls for (a value only for a 200, or a 204 to a claim; 404 NotFound, 409 Conflict,
// 422 ValidationError or HttpError, 503 MigrationError or HttpError, HttpError with the
// answer's status otherwise), and nothing outside the library's Error family; a 422 body's
// field errors survive, and those of a ValidationError come back as they were sent;
// Retry-After is nothing or a wait of zero or more.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "client/answer.hpp"
#include "expect.hpp"

namespace {

using namespace pangeo_forge;
using client::HttpError;
using client::HttpResponse;
using nlohmann::json;
namespace answer = client::answer;

std::string_view take_line(std::string_view& text) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

HttpResponse response_from(std::string_view text) {
    HttpResponse response;
    std::string_view status = take_line(text);
    response.status = 200;
    if (!status.empty() && status.size() <= 3 && status.find_first_not_of("0123456789") == std::string_view::npos) {
        response.status = std::atoi(std::string(status).c_str());
    }
    while (!text.empty()) {
        std::string_view line = take_line(text);
        if (line.empty()) break;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        response.headers.emplace_back(detail::lowercase(detail::trimmed(line.substr(0, colon))),
                                      detail::trimmed(line.substr(colon + 1)));
    }
    response.body = std::string(text);
    return response;
}

// The field errors a FastAPI 422 body holds, read independently of the client: each loc part
// as its text (a number as its digits), msg and type as their text, ctx as it is. Nothing
// when the body is not that shape.
std::optional<std::vector<FieldError>> expected_field_errors(const std::string& body) {
    json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    auto detail = parsed.find("detail");
    if (detail == parsed.end() || !detail->is_array()) return std::nullopt;
    auto text = [](const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); };
    std::vector<FieldError> errors;
    for (const auto& item : *detail) {
        if (!item.is_object()) return std::nullopt;
        auto loc = item.find("loc");
        if (loc == item.end() || !loc->is_array()) return std::nullopt;
        FieldError error;
        for (const auto& part : *loc) error.loc.push_back(text(part));
        for (auto [key, field] : {std::pair{"msg", &error.msg}, std::pair{"type", &error.type}}) {
            auto found = item.find(key);
            if (found != item.end() && !found->is_null()) *field = text(*found);
        }
        if (auto ctx = item.find("ctx"); ctx != item.end()) error.ctx = *ctx;
        errors.push_back(std::move(error));
    }
    return errors;
}

enum class Outcome { value, none, validation, not_found, conflict, migration, http };

struct Result {
    Outcome outcome;
    int http_status = 0;
    std::vector<FieldError> errors;
};

// One route's reading of the answer, as the one outcome it ends in. Anything thrown outside
// the library's Error family escapes, and libFuzzer reports it.
Result outcome_of(const std::function<bool()>& read) {
    try {
        return {read() ? Outcome::value : Outcome::none, 0, {}};
    } catch (const ValidationError& error) {
        return {Outcome::validation, 0, error.errors()};
    } catch (const NotFound&) {
        return {Outcome::not_found, 0, {}};
    } catch (const Conflict&) {
        return {Outcome::conflict, 0, {}};
    } catch (const MigrationError&) {
        return {Outcome::migration, 0, {}};
    } catch (const HttpError& error) {
        return {Outcome::http, error.status(), {}};
    } catch (const Error& error) {
        std::fprintf(stderr, "%s: %s\n", typeid(error).name(), error.what());
        fuzz::require(false, "an answer is read into a value, or one of the exceptions the route documents");
    }
    std::abort();
}

void check(const Result& result, const HttpResponse& response, bool is_claim) {
    const int status = response.status;
    switch (result.outcome) {
        case Outcome::value:
            fuzz::require(status == 200, "only a 200 is read as a value");
            break;
        case Outcome::none:
            fuzz::require(is_claim && status == 204, "only a 204 to a claim is read as none queued");
            break;
        case Outcome::validation: {
            fuzz::require(status == 422, "only a 422 is a ValidationError");
            auto expected = expected_field_errors(response.body);
            fuzz::require(expected && result.errors == *expected, "a 422 body's field errors survive");
            break;
        }
        case Outcome::not_found: fuzz::require(status == 404, "only a 404 is NotFound"); break;
        case Outcome::conflict: fuzz::require(status == 409, "only a 409 is a Conflict"); break;
        case Outcome::migration: fuzz::require(status == 503, "only a 503 is a MigrationError"); break;
        case Outcome::http:
            fuzz::require(result.http_status == status, "an HttpError carries the answer's status");
            fuzz::require(status != 404 && status != 409 && !(is_claim && status == 204),
                          "a status with an exception of its own is not an HttpError");
            if (status == 422) {
                fuzz::require(!expected_field_errors(response.body), "a 422 with field errors is a ValidationError");
            }
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const HttpResponse response = response_from(std::string_view(reinterpret_cast<const char*>(data), size));
    const answer::Route route{"http://forge.test", "GET", "/route"};

    auto wait = answer::retry_after(response);
    fuzz::require(!wait || wait->count() >= 0, "Retry-After is no wait or a wait of zero or more");

    const std::vector<std::function<bool()>> routes = {
        [&] { return (void)answer::one<model::Bakery>(response, route), true; },
        [&] { return (void)answer::one<model::Feedstock>(response, route), true; },
        [&] { return (void)answer::one<model::RecipeRun>(response, route), true; },
        [&] { return (void)answer::one<model::BakeryWithRecipeRuns>(response, route), true; },
        [&] { return (void)answer::one<model::FeedstockWithRecipeRuns>(response, route), true; },
        [&] { return (void)answer::one<model::RecipeRunWithRelations>(response, route), true; },
        [&] { return (void)answer::list<model::Bakery>(response, route), true; },
        [&] { return (void)answer::list<model::RecipeRun>(response, route), true; },
        [&] { return (void)answer::list<orchestrator::Dataset>(response, route), true; },
        [&] { return (void)answer::count(response, route), true; },
        [&] { return (void)answer::heartbeat(response, route), true; },
        [&] { return (void)answer::success(response, route), true; },  // a delete
    };
    for (const auto& read : routes) check(outcome_of(read), response, false);
    check(outcome_of([&] { return answer::claim(response, route).has_value(); }), response, true);

    // What the server sends of a ValidationError comes back as it was.
    if (response.status == 422) {
        if (auto errors = expected_field_errors(response.body)) {
            HttpResponse again{422, {}, ValidationError(*errors).detail().dump(-1, ' ', false, json::error_handler_t::replace)};
            Result result = outcome_of([&] { return (void)answer::success(again, route), true; });
            fuzz::require(result.outcome == Outcome::validation && result.errors == *errors,
                          "a ValidationError's detail reads back as the same field errors");
        }
    }
    return 0;
}
