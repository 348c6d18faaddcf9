#include "pangeo_forge/api/server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <sys/resource.h>

#include "api/http_request.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

class Connection;

// After a refusal the client may still be sending the body we did not want: read and drop
// it for a moment (at most this much, or the body limit) so that closing does not reset
// the connection before the client has read the answer.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 4 * 1024 * 1024;
// Past the cap, connections are still accepted to be told 503, up to this many more;
// beyond those they are closed at once.
constexpr std::size_t refused_connections_headroom = 64;

// The access log's lines reach ServeOptions::log from a thread of their own, through a
// bounded queue: a log that blocks (a full pipe, a paused terminal) must not stall the I/O
// thread. Lines past the bound are dropped and counted, and the count is logged after.
class AccessLog {
public:
    explicit AccessLog(std::function<void(const std::string&)> sink) : state_(std::make_shared<State>()) {
        state_->sink = std::move(sink);
    }

    void start() {
        if (state_->sink) thread_ = std::thread([state = state_] { state->write_lines(); });
    }

    void write(std::string line) {
        if (!state_->sink) return;
        std::lock_guard lock(state_->mutex);
        if (state_->lines.size() >= queued_lines) {
            ++state_->dropped;
            return;
        }
        state_->lines.push_back(std::move(line));
        state_->changed.notify_all();
    }

    // Writes what is queued, waiting `patience` at most: a log still blocked then is left
    // to its thread, which owns what it uses.
    void finish(std::chrono::milliseconds patience) {
        if (!thread_.joinable()) return;
        std::unique_lock lock(state_->mutex);
        state_->finishing = true;
        state_->changed.notify_all();
        bool written = state_->changed.wait_for(lock, patience, [this] { return state_->written; });
        lock.unlock();
        written ? thread_.join() : thread_.detach();
    }

    ~AccessLog() { finish(std::chrono::seconds(1)); }

private:
    static constexpr std::size_t queued_lines = 10'000;

    struct State {
        std::function<void(const std::string&)> sink;
        std::mutex mutex;
        std::condition_variable changed;
        std::deque<std::string> lines;
        std::size_t dropped = 0;
        bool finishing = false;
        bool written = false;

        void write_lines() {
            std::unique_lock lock(mutex);
            for (;;) {
                changed.wait(lock, [this] { return !lines.empty() || finishing; });
                if (lines.empty()) break;
                std::deque<std::string> batch;
                batch.swap(lines);
                std::size_t lost = std::exchange(dropped, 0);
                lock.unlock();
                for (const auto& line : batch) emit(line);
                if (lost > 0) emit(std::to_string(lost) + " access log lines dropped: the log was slower than the requests");
                lock.lock();
            }
            written = true;
            changed.notify_all();
        }

        void emit(const std::string& line) {
            try {
                sink(line);
            } catch (...) {
                // A log that fails loses the line; serving goes on.
            }
        }
    };

    std::shared_ptr<State> state_;
    std::thread thread_;
};

// What the connections share: the options, the router and its workers, and the open
// connections (for the cap, and so that stop() can close the idle ones).
struct Shared {
    const Router& router;
    ServeOptions options;
    http::RequestLimits limits;
    // Started by run(), so that its threads inherit the signal mask of run()'s caller.
    std::optional<net::thread_pool> workers;
    AccessLog access_log;
    std::atomic<bool> stopping{false};

    std::mutex mutex;
    std::list<std::weak_ptr<Connection>> connections;

    Shared(const Router& router_, ServeOptions options_)
        : router(router_), options(std::move(options_)),
          limits{options.max_header_bytes, options.max_header_fields, options.max_body_bytes},
          access_log(options.log) {}

    std::size_t open_connections() {
        std::lock_guard lock(mutex);
        return connections.size();
    }

    void log(std::string_view method, std::string_view target, int status, Clock::time_point started) {
        // The line is only made when there is a log to take it.
        if (options.log) access_log.write(http::log_line(method, target, status, Clock::now() - started));
    }
};

// One client's connection, on a strand of its own: it reads a request, hands it to a
// worker, writes the answer, and reads the next (pipelined requests wait in the buffer,
// so they are answered in order).
class Connection : public std::enable_shared_from_this<Connection> {
public:
    // An idle connection's buffer: a typical request fits; the parser asks for more as needed.
    static constexpr std::size_t first_read = 4 * 1024;

    Connection(tcp::socket socket, Shared& shared)
        : stream_(std::move(socket)), shared_(shared), deadline_(stream_.get_executor()),
          // A whole header and a read beyond it; the body goes to the request as it is parsed.
          buffer_(shared.options.max_header_bytes + first_read) {}

    ~Connection() {
        std::lock_guard lock(shared_.mutex);
        shared_.connections.erase(registration_);
    }

    // Serves the connection, or only answers `refusal` and closes.
    void start(std::optional<http::Refusal> refusal) {
        {
            std::lock_guard lock(shared_.mutex);
            registration_ = shared_.connections.insert(shared_.connections.end(), weak_from_this());
        }
        net::dispatch(stream_.get_executor(), [self = shared_from_this(), refusal = std::move(refusal)] {
            refusal ? self->refuse(*refusal) : self->wait_for_request();
        });
    }

    // stop(): a connection between requests closes now; one in the middle of a request
    // answers it first.
    void stop_if_idle() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            if (self->between_requests_) self->stream_.cancel();
        });
    }

private:
    void wait_for_request() {
        between_requests_ = true;
        if (shared_.stopping) return close();
        if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
        buffer_.shrink_to_fit();  // what a large request needed is not kept while idle
        stream_.expires_after(shared_.options.idle_timeout);
        stream_.async_read_some(buffer_.prepare(first_read), [self = shared_from_this()](error_code error, std::size_t n) {
            // Timed out, closed by the client, or cancelled by stop(): nobody awaits an answer.
            if (error) return self->close();
            self->buffer_.commit(n);
            self->read_header();
        });
    }

    void read_header() {
        between_requests_ = false;
        started_ = Clock::now();
        method_ = target_ = "-";  // until the header is read
        exchange_ = {};
        parser_.emplace();
        http::apply_limits(*parser_, shared_.limits);
        arm_deadline("header", shared_.options.header_timeout);
        beast_http::async_read_header(stream_, buffer_, *parser_,
                                      [self = shared_from_this()](error_code error, std::size_t) {
                                          self->disarm_deadline();
                                          error ? self->fail(error) : self->on_header();
                                      });
    }

    void on_header() {
        const auto& header = parser_->get();
        method_ = std::string(header.method_string());
        target_ = std::string(header.target());
        exchange_ = {header.version(), header.keep_alive(), header.method() == beast_http::verb::head};
        if (auto refusal = http::check_header(*parser_, shared_.limits)) return refuse(*refusal);
        head_ = http::request_head(header);
        if (parser_->is_done()) return handle();
        // Refused unread, so that a client without a key cannot make the server hold a body.
        if (auto answer = shared_.router.answer_before_body(head_)) return respond(std::move(*answer), false);
        if (header.version() == 11 && beast::iequals(header[beast_http::field::expect], "100-continue")) {
            // The client waits for this before it sends the body (curl does, for large ones).
            auto interim = std::make_shared<beast_http::response<beast_http::empty_body>>(beast_http::status::continue_, 11);
            stream_.expires_after(shared_.options.write_timeout);
            return beast_http::async_write(stream_, *interim,
                                           [self = shared_from_this(), interim](error_code error, std::size_t) {
                                               error ? self->close() : self->read_body();
                                           });
        }
        read_body();
    }

    void read_body() {
        arm_deadline("body", shared_.options.body_timeout);
        beast_http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code error, std::size_t) {
            self->disarm_deadline();
            error ? self->fail(error) : self->handle();
        });
    }

    // The header and body deadlines. Not the stream's own: on expiry it closes the socket,
    // and a client that was too slow should still be told so (408). This one ends reading:
    // it cancels the read under way and shuts the receiving side, so that a read started
    // by a completion already queued fails too. The generation tells a stale expiry
    // (queued as the read completed) from the current one.
    void arm_deadline(const char* part, std::chrono::milliseconds timeout) {
        stream_.expires_never();
        timed_out_ = nullptr;
        deadline_.expires_after(timeout);
        deadline_.async_wait([self = shared_from_this(), part, timeout, generation = ++deadline_generation_](error_code error) {
            if (error || generation != self->deadline_generation_) return;
            self->timed_out_ = part;
            self->missed_timeout_ = timeout;
            error_code ignored;
            self->stream_.socket().cancel(ignored);
            self->stream_.socket().shutdown(tcp::socket::shutdown_receive, ignored);
        });
    }

    void disarm_deadline() {
        ++deadline_generation_;
        deadline_.cancel();
    }

    void fail(error_code error) {
        if (timed_out_) {
            return refuse({408, std::string("the request's ") + timed_out_ + " did not arrive within " +
                                    std::to_string(missed_timeout_.count()) + " ms: send it at once"});
        }
        if (auto refusal = http::refusal_for(error, shared_.limits)) return refuse(*refusal);
        close();
    }

    // The router runs on a worker: the database may take its time, the I/O threads may not.
    void handle() {
        head_.body = std::move(parser_->release().body());
        parser_.reset();
        net::post(*shared_.workers, [self = shared_from_this(), request = std::move(head_)] {
            Response response = self->shared_.router.handle(request);
            net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
                self->respond(std::move(response), self->exchange_.keep_alive);
            });
        });
    }

    void respond(Response response, bool keep_alive) {
        shared_.log(method_, target_, response.status, started_);
        exchange_.keep_alive = keep_alive && !shared_.stopping;
        write(http::to_wire(std::move(response), exchange_));
    }

    void refuse(const http::Refusal& refusal) {
        shared_.log(method_, target_, refusal.status, started_);
        exchange_.keep_alive = false;
        write(http::to_wire(refusal, exchange_));
    }

    void write(http::WireResponse response) {
        auto message = std::make_shared<http::WireResponse>(std::move(response));
        stream_.expires_after(shared_.options.write_timeout);
        beast_http::async_write(stream_, *message, [self = shared_from_this(), message](error_code error, std::size_t) {
            if (error) return self->close();
            self->exchange_.keep_alive ? self->wait_for_request() : self->linger();
        });
    }

    // Closes our side for writing, then reads and drops what the client still sends (a
    // refused body) until it closes, for a moment and a body's length at most, then closes.
    void linger() {
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(linger_time);
        drain();
    }

    void drain() {
        buffer_.clear();
        stream_.async_read_some(buffer_.prepare(first_read), [self = shared_from_this()](error_code error, std::size_t n) {
            self->lingered_ += n;
            if (error || self->lingered_ > std::max(linger_bytes, self->shared_.options.max_body_bytes)) {
                return self->close();
            }
            self->drain();
        });
    }

    void close() {
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
    }

    beast::tcp_stream stream_;
    Shared& shared_;
    net::steady_timer deadline_;
    std::uint64_t deadline_generation_ = 0;
    const char* timed_out_ = nullptr;  // the part of the request whose deadline passed
    std::chrono::milliseconds missed_timeout_{0};
    beast::flat_buffer buffer_;
    std::optional<http::Parser> parser_;
    Request head_;  // the request being read, its body to come
    std::size_t lingered_ = 0;
    bool between_requests_ = true;
    Clock::time_point started_ = Clock::now();
    http::Exchange exchange_;
    std::string method_ = "-";  // of the request being answered, for the log: "-" until its header is read
    std::string target_ = "-";
    std::list<std::weak_ptr<Connection>>::iterator registration_;
};

// Beast keeps a field's length in 16 bits: a header limit beyond this would let one field
// overflow it.
constexpr std::size_t largest_header_limit = 60 * 1024;

// The limits a server can keep: checked before it listens.
void check_options(const ServeOptions& options) {
    if (options.max_header_bytes == 0 || options.max_header_bytes > largest_header_limit) {
        throw ConfigError("max_header_bytes is " + std::to_string(options.max_header_bytes) + ": give 1 to " +
                          std::to_string(largest_header_limit) + " bytes");
    }
    if (options.max_connections == 0 || options.io_threads == 0) {
        throw ConfigError("max_connections and io_threads must be at least 1");
    }
}

// Every connection is a file descriptor, and so is every refused one for a moment: the
// process's soft limit is raised as far as its hard limit allows, or the cap is refused
// (past the limit, accept() fails and clients wait unanswered instead of getting the 503).
void ensure_descriptors(const ServeOptions& options) {
    const rlim_t needed = options.max_connections + refused_connections_headroom + options.threads + 64;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return;
    if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed) {
        limit.rlim_cur = needed;
        if (setrlimit(RLIMIT_NOFILE, &limit) == 0) return;
    }
    throw ConfigError(std::to_string(options.max_connections) + " connections need about " + std::to_string(needed) +
                      " file descriptors, and this process may open " + std::to_string(limit.rlim_cur) +
                      ": lower --max-connections or raise the limit (ulimit -n)");
}

tcp::endpoint endpoint_for(net::io_context& io, const std::string& host, int port) {
    error_code error;
    auto address = net::ip::make_address(host, error);
    if (!error) return {address, static_cast<unsigned short>(port)};
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), error);
    if (error || results.empty()) {
        throw ConfigError("cannot listen on " + host + ": " + (error ? error.message() : "no address") +
                          "; give --host an address of this machine, such as 127.0.0.1 or 0.0.0.0");
    }
    return results.begin()->endpoint();
}

}  // namespace

// Declared in the order of destruction's needs: the connections (destroyed with the
// io_context's pending handlers, and by the workers' finished jobs) unregister from
// `shared`, which therefore outlives both.
struct Server::Impl {
    Shared shared;
    net::io_context io;
    // The acceptor, its timers and stop() share a strand: with several I/O threads, the
    // acceptor is never closed while an accept is being started.
    net::strand<net::io_context::executor_type> control{io.get_executor()};
    tcp::acceptor acceptor{control};
    net::steady_timer accept_retry{control};
    net::steady_timer drain_check{control};
    Clock::time_point stop_deadline;
    int port = 0;
    std::atomic<bool> running{false};

    Impl(const Router& router, ServeOptions options) : shared(router, std::move(options)) {}
    // The workers' last jobs hold connections: they end while the io_context still exists.
    ~Impl() {
        if (shared.workers) shared.workers->join();
    }

    // A handler that throws (it should not: memory exhausted, a bug) costs its connection,
    // not the server: the thread logs it and goes on.
    void run_io() {
        for (;;) {
            try {
                io.run();
                return;
            } catch (const std::exception& error) {
                shared.access_log.write(std::string("error: a connection failed: ") + error.what());
            }
        }
    }

    void listen() {
        const auto& options = shared.options;
        error_code error;
        auto endpoint = endpoint_for(io, options.host, options.port);
        acceptor.open(endpoint.protocol(), error);
        if (!error) acceptor.set_option(net::socket_base::reuse_address(true), error);
        if (!error) acceptor.bind(endpoint, error);
        if (!error) acceptor.listen(net::socket_base::max_listen_connections, error);
        if (error) {
            throw ConfigError("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                              error.message() + "; choose another --host or --port");
        }
        port = acceptor.local_endpoint().port();
        accept_next();
    }

    void accept_next() {
        acceptor.async_accept(net::make_strand(io), [this](error_code error, tcp::socket socket) {
            if (shared.stopping || error == net::error::operation_aborted) return;
            if (error) {
                // Out of file descriptors, most likely: wait for some to close rather than spin.
                accept_retry.expires_after(std::chrono::milliseconds(50));
                accept_retry.async_wait([this](error_code cancelled) {
                    if (!cancelled && !shared.stopping) accept_next();
                });
                return;
            }
            admit(std::move(socket));
            accept_next();
        });
    }

    void admit(tcp::socket socket) {
        error_code ignored;
        // Without it, Nagle and delayed ACKs hold each small response back ~40 ms.
        socket.set_option(tcp::no_delay(true), ignored);
        const std::size_t open = shared.open_connections();
        const std::size_t cap = shared.options.max_connections;
        if (open >= cap + refused_connections_headroom) return;  // closed as `socket` goes
        std::optional<http::Refusal> refusal;
        if (open >= cap) {
            refusal = http::Refusal{503, "the server has " + std::to_string(cap) +
                                             " connections open, its limit: retry later"};
        }
        std::make_shared<Connection>(std::move(socket), shared)->start(std::move(refusal));
    }

    void begin_stop() {
        if (shared.stopping.exchange(true)) return;
        error_code ignored;
        acceptor.close(ignored);
        accept_retry.cancel();
        // Held apart from the lock: the last owner of a connection unregisters it.
        std::vector<std::shared_ptr<Connection>> open;
        {
            std::lock_guard lock(shared.mutex);
            for (auto& weak : shared.connections) {
                if (auto connection = weak.lock()) open.push_back(std::move(connection));
            }
        }
        for (auto& connection : open) connection->stop_if_idle();
        stop_deadline = Clock::now() + shared.options.stop_grace;
        check_drained();
    }

    // Ends run() once every connection has closed, or at the deadline.
    void check_drained() {
        if (shared.open_connections() == 0 || Clock::now() >= stop_deadline) return io.stop();
        drain_check.expires_after(std::chrono::milliseconds(20));
        drain_check.async_wait([this](error_code) { check_drained(); });
    }
};

Server::Server(const Router& router, ServeOptions options) {
    check_options(options);
    ensure_descriptors(options);
    impl_.reset(new Impl(router, std::move(options)));
    impl_->listen();
}

Server::~Server() = default;

int Server::port() const { return impl_->port; }

void Server::run() {
    impl_->running = true;
    impl_->shared.workers.emplace(std::max<std::size_t>(1, impl_->shared.options.threads));
    impl_->shared.access_log.start();
    std::vector<std::thread> more_io_threads;
    for (std::size_t i = 1; i < impl_->shared.options.io_threads; ++i) {
        more_io_threads.emplace_back([this] { impl_->run_io(); });
    }
    impl_->run_io();
    for (auto& thread : more_io_threads) thread.join();
    // Requests still with the router (past the grace time) finish; their answers go nowhere.
    impl_->shared.workers->join();
    impl_->shared.access_log.finish(std::chrono::seconds(1));
    impl_->running = false;
}

bool Server::running() const { return impl_->running; }

void Server::stop() {
    net::post(impl_->control, [impl = impl_.get()] { impl->begin_stop(); });
}

}  // namespace pangeo_forge::api

extern "C" const pangeo_forge::api::ServerFunctions* pangeo_forge_http_server_functions() {
    using pangeo_forge::api::Server;
    static const pangeo_forge::api::ServerFunctions functions{
        [](const pangeo_forge::api::Router& router, const pangeo_forge::api::ServeOptions& options) {
            return new Server(router, options);
        },
        [](Server* server) { delete server; },
        [](const Server& server) { return server.port(); },
        [](Server& server) { server.run(); },
        [](Server& server) { server.stop(); },
        [](const Server& server) { return server.running(); },
    };
    return &functions;
}
