#pragma once
// The client's reading of an answer (client.cpp): a status, headers and a body, as a server
// sent them, turned into the operation's value or the exception the orchestrator throws
// in-process. No connection here: what arrived is all these functions see.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/decode.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"
#include "support/text.hpp"

namespace pangeo_forge::client::answer {

// What was asked, as messages name it: the server (without the password of its URL), the
// method and the target.
struct Route {
    std::string server;
    std::string method;
    std::string target;
};

// Retry-After as seconds or as an HTTP date; nothing when absent or unreadable.
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& response);

// The server's {"detail": [{loc, msg, type, ctx}, ...]}, rebuilt; nothing when it is not that shape.
std::optional<std::vector<FieldError>> field_errors(const nlohmann::json& body);

// A status other than the route's success, as the exception the orchestrator throws
// in-process: 422 with field errors ValidationError, 404 NotFound, 409 Conflict, 503 from a
// database not at head MigrationError, anything else HttpError.
[[noreturn]] void throw_for(const HttpResponse& response, const Route& route);

// The answer's JSON, or HttpError when it is none.
nlohmann::json parsed(const HttpResponse& response, const Route& route);

// The JSON of a 200; any other status thrown as throw_for does.
nlohmann::json success(const HttpResponse& response, const Route& route);

// What `decode` makes of an answer; HttpError when the answer is not what the route sends
// (another version of the server, or no pangeo-forge server at all).
template <class Decode>
auto decoded(const nlohmann::json& body, Decode decode, const Route& route) {
    try {
        return decode(body);
    } catch (const ValidationError& error) {
        const auto& first = error.errors().front();
        throw HttpError(200, "the server " + route.server + " answered " + route.method + " " + route.target +
                                 " with JSON the client cannot read (" + detail::joined(first.loc, ".") + ": " +
                                 first.msg + "): is it another version of pangeo-forge?");
    }
}

// The answers of the routes: a form, a list of rows, a count, a claim (204: none queued),
// a heartbeat.
template <class Form>
Form one(const HttpResponse& response, const Route& route) {
    return decoded(success(response, route), [](const nlohmann::json& value) { return model::decode<Form>(value); },
                   route);
}

template <class Row>
std::vector<Row> list(const HttpResponse& response, const Route& route) {
    auto rows = [](const nlohmann::json& value) {
        if (!value.is_array()) {
            throw ValidationError({FieldError{{"body"}, "value is not a valid list", "type_error.list", {}}});
        }
        std::vector<Row> out;
        for (const auto& row : value) out.push_back(model::decode<Row>(row));
        return out;
    };
    return decoded(success(response, route), rows, route);
}

std::int64_t count(const HttpResponse& response, const Route& route);
std::optional<orchestrator::Claim> claim(const HttpResponse& response, const Route& route);
orchestrator::Heartbeat heartbeat(const HttpResponse& response, const Route& route);

}  // namespace pangeo_forge::client::answer
