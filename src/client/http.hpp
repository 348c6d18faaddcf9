#pragma once
// The HTTP transport under the remote client (client.cpp) and the GitHub REST client
// (github/rest.cpp): libcurl easy handles kept between requests with their connections,
// one exchange at a time with the caller's method, headers and body, the answer bounded in
// size, and the rules that say from libcurl's outcome whether a request can have reached
// the server. No retry here: each user has its own policy, built from these pieces and
// backoff().
//
// Errors: Transport::send returns libcurl's code and never throws for a failed exchange;
// ConnectionError only when libcurl cannot make a handle (out of memory).
//
// Thread safety: one Transport may be used from many threads at once.

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pangeo_forge/client/client.hpp"

namespace pangeo_forge::client::http {

// curl_global_init, once per process (it is not thread-safe on its own). ConfigError when
// libcurl cannot start.
void initialise_libcurl();

// What may go into a header line: no CR, LF or other control character.
bool header_safe(const std::string& value);

// The methods that change nothing: sent again whenever their answer was lost.
bool is_safe(const std::string& method);

// Whether an exchange of `method` sends a body: POST, PATCH and PUT always (an empty one
// when `body` is), other methods only a non-empty one. Such a request needs its Content-Type.
bool sends_body(const std::string& method, const std::string& body);

// The failures where the request never reached a server, so it cannot have been applied.
// The code alone does not say it: libcurl sends a request again by itself when a reused
// connection turns out dead, and that second connection may fail after the first send was
// read. `request_bytes` (CURLINFO_REQUEST_SIZE) counts what it wrote, over both.
bool never_connected(CURLcode code, curl_off_t request_bytes);

// The failures after which a safe request may be sent again: the connection broke.
bool connection_broke(CURLcode code);

// The wait before retry number `retry` (0 for the first): `first` doubled per retry up to
// `max`, then a random share of it taken off (between none and half), so that clients that
// failed together do not come back together; at least what the server `asked` (a
// Retry-After), itself capped by `max`.
std::chrono::milliseconds backoff(int retry, std::optional<std::chrono::milliseconds> asked,
                                  std::chrono::milliseconds first, std::chrono::milliseconds max);

// One exchange: what came back, and what libcurl says of it.
struct Exchange {
    HttpResponse response;  // status 0 when no answer came
    bool too_large = false;  // the answer passed the transport's bound: it was cut off
    curl_off_t request_bytes = 0;  // written to the server (CURLINFO_REQUEST_SIZE)
    char error[CURL_ERROR_SIZE] = {0};
};

// libcurl's own words for this exchange when it has them, else those of the code.
std::string reason(CURLcode code, const Exchange& exchange);

struct TransportOptions {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{30000};  // the whole exchange
    std::size_t max_answer_bytes = 64 * 1024 * 1024;
    std::string user_agent;
    // The server as messages name it (without a URL's password).
    std::string shown_server;
};

class Transport {
public:
    explicit Transport(TransportOptions options);
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    const TransportOptions& options() const { return options_; }

    // One exchange, no retry: `method` in upper case, `url` whole, `header_lines` as
    // "Name: value" (checked header_safe by the caller); the body as sends_body() says.
    // "Expect:" is added: the bodies are small, so no 100-continue round trip. Returns
    // libcurl's code; `exchange` holds what came.
    CURLcode send(const std::string& method, const std::string& url, const std::vector<std::string>& header_lines,
                  const std::string& body, Exchange& exchange);

private:
    struct HandleCleanup {
        void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
    };
    using Handle = std::unique_ptr<CURL, HandleCleanup>;

    Handle take_handle();
    void give_back(Handle handle);

    TransportOptions options_;
    std::mutex shelf_mutex_;
    std::vector<Handle> shelf_;  // idle handles, each with its kept-alive connection
};

}  // namespace pangeo_forge::client::http
