// The transport (http.hpp): libcurl handles on a shelf, one exchange per send().

#include "client/http.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string_view>

#include "support/text.hpp"

namespace pangeo_forge::client::http {
namespace {

// Handles (and their connections) kept idle between requests; more are made while more
// threads send at once, and closed when they come back to a full shelf.
constexpr std::size_t max_idle_handles = 8;

struct HeaderListCleanup {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListCleanup>;

// What the callbacks fill: the exchange, and the bound on its body.
struct Sink {
    Exchange& exchange;
    std::size_t max_answer_bytes;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& sink = *static_cast<Sink*>(user);
    std::size_t bytes = size * count;
    if (sink.exchange.response.body.size() + bytes > sink.max_answer_bytes) {
        sink.exchange.too_large = true;
        return 0;  // libcurl stops with CURLE_WRITE_ERROR
    }
    sink.exchange.response.body.append(data, bytes);
    return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& headers = static_cast<Sink*>(user)->exchange.response.headers;
    std::size_t bytes = size * count;
    std::string_view line(data, bytes);
    if (line.substr(0, 5) == "HTTP/") {
        headers.clear();  // a new response begins (after a 100 Continue): only the last one counts
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
        headers.emplace_back(detail::lowercase(detail::trimmed(line.substr(0, colon))),
                             detail::trimmed(line.substr(colon + 1)));
    }
    return bytes;
}

}  // namespace

void initialise_libcurl() {
    // Once per process, whichever thread makes the first client. Never cleaned up: other
    // code in the process may use libcurl.
    static std::once_flag once;
    std::call_once(once, [] {
        if (CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
            throw ConfigError(std::string("libcurl cannot start: ") + curl_easy_strerror(code));
        }
    });
}

bool header_safe(const std::string& value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f; });
}

bool is_safe(const std::string& method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

bool sends_body(const std::string& method, const std::string& body) {
    return !body.empty() || method == "POST" || method == "PATCH" || method == "PUT";
}

bool never_connected(CURLcode code, curl_off_t request_bytes) {
    return request_bytes == 0 &&
           (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY);
}

bool connection_broke(CURLcode code) {
    return code == CURLE_GOT_NOTHING || code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR ||
           code == CURLE_PARTIAL_FILE;
}

std::chrono::milliseconds backoff(int retry, std::optional<std::chrono::milliseconds> asked,
                                  std::chrono::milliseconds first, std::chrono::milliseconds max) {
    double base = static_cast<double>(first.count()) * std::pow(2.0, retry);
    base = std::min(base, static_cast<double>(max.count()));
    thread_local std::mt19937 random{std::random_device{}()};
    double delay = base * std::uniform_real_distribution<double>(0.5, 1.0)(random);
    auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(delay));
    if (asked) wait = std::max(wait, std::min(*asked, max));
    return wait;
}

std::string reason(CURLcode code, const Exchange& exchange) {
    return exchange.error[0] != '\0' ? std::string(exchange.error) : std::string(curl_easy_strerror(code));
}

Transport::Transport(TransportOptions options) : options_(std::move(options)) { initialise_libcurl(); }

Transport::~Transport() = default;

Transport::Handle Transport::take_handle() {
    {
        std::lock_guard lock(shelf_mutex_);
        if (!shelf_.empty()) {
            Handle handle = std::move(shelf_.back());
            shelf_.pop_back();
            return handle;
        }
    }
    Handle handle(curl_easy_init());
    if (!handle) throw ConnectionError("libcurl cannot make a handle for " + options_.shown_server + ": out of memory");
    return handle;
}

void Transport::give_back(Handle handle) {
    std::lock_guard lock(shelf_mutex_);
    if (shelf_.size() < max_idle_handles) shelf_.push_back(std::move(handle));
}

CURLcode Transport::send(const std::string& method, const std::string& url, const std::vector<std::string>& header_lines,
                         const std::string& body, Exchange& exchange) {
    Handle handle = take_handle();
    CURL* h = handle.get();
    curl_easy_reset(h);  // options only: the handle's open connection is kept
    Sink sink{exchange, options_.max_answer_bytes};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, exchange.error);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);

    curl_slist* raw = nullptr;
    for (const auto& line : header_lines) raw = curl_slist_append(raw, line.c_str());
    raw = curl_slist_append(raw, "Expect:");
    HeaderList headers(raw);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    if (method == "GET") {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (sends_body(method, body)) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }

    CURLcode code = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    exchange.response.status = static_cast<int>(status);
    long request_bytes = 0;
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
    exchange.request_bytes = request_bytes;
    give_back(std::move(handle));
    return code;
}

}  // namespace pangeo_forge::client::http
