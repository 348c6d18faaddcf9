// The dispatch queue's claim + complete loop (Orchestrator::claim, then Orchestrator::complete
// with a success report) against the raw driver running the same statements in the same run:
// the SQLite C API and, when PANGEO_FORGE_BENCH_POSTGRES_URL names a server, libpq. 1, 4 and 16
// claimer threads, each with a connection of its own, drain `runs` queued runs of one bakery,
// on a fresh database each time (SQLite: a new file; PostgreSQL: a new schema, through
// search_path). Prints runs per second for both and the ratio, and checks after every drain
// that each run was claimed exactly once (attempt 1) and completed with its dataset.
//
//   build/bench/bench_dispatch [runs] [rounds] [claimers] [side]
//       defaults: 2000 runs, 3 rounds, claimers "1,4,16", side "both"; side "ours" or "raw"
//       runs one side alone (for a profiler or strace) and prints its rate only
//
// Each round runs both sides (the order alternating from round to round); the figures are
// the medians over the rounds.
//
// The raw side sends what src/orchestrator/dispatch.cpp sends, statement for statement:
//   claim:    [the lease sweep's SELECT, at most once a second for all claimers, as claim()
//             does through sweep_if_due()], BEGIN (IMMEDIATE on SQLite), the claim UPDATE ...
//             RETURNING id (FOR UPDATE SKIP LOCKED on PostgreSQL), the dispatch upsert
//             RETURNING attempt, the run with its bakery and feedstock, COMMIT; when nothing
//             is queued, the bakery's SELECT and ROLLBACK;
//   complete: BEGIN (IMMEDIATE), the run's and its dispatch row's SELECT (FOR UPDATE on
//             PostgreSQL), the UPDATE of every field of each, COMMIT.
// The SELECT lists and UPDATEs come from the same field tables the library builds them from
// (src/orchestrator/storage.hpp); the claim, upsert and sweep texts are copied from
// dispatch.cpp and must be kept in step with it. Both sides bind values as the library does
// (PostgreSQL: text parameters of unspecified type; SQLite: integers and text), prepare each
// statement once per connection and read every column of every row.

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "orchestrator/storage.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/model/dispatch.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

using namespace pangeo_forge;
namespace fs = std::filesystem;
namespace storage = orchestrator::storage;

namespace {

constexpr const char* bakery_name = "bench-bakery";
constexpr const char* dataset_url = "https://data.example.org/bench/dataset.zarr";
constexpr std::chrono::seconds lease{60};
enum class Side { both, ours, raw };

[[noreturn]] void die(const std::string& message) {
    std::cerr << "bench_dispatch: " << message << "\n";
    std::exit(1);
}

// --- the statements ------------------------------------------------------------------------

enum Which { sweep, take, bakery_exists, record, relations, lock_run, lock_dispatch, update_run, update_dispatch };

std::vector<std::string> statements(const db::Dialect& dialect) {
    using model::Bakery;
    using model::Dispatch;
    using model::Feedstock;
    using model::RecipeRun;
    std::string row_lock(dialect.row_lock_clause());
    return {
        // Orchestrator::expire_leases()
        "SELECT d.recipe_run_id FROM dispatch d JOIN reciperun r ON r.id = d.recipe_run_id "
        "WHERE r.status = :in_progress AND (d.lease_expires_at < :now OR d.job_deadline < :now2) "
        "ORDER BY d.recipe_run_id",
        // Orchestrator::claim()
        "UPDATE reciperun SET status = :in_progress WHERE id = (SELECT id FROM reciperun WHERE bakery_id = "
        "(SELECT id FROM bakery WHERE name = :bakery) AND status = :queued ORDER BY started_at, id LIMIT 1" +
            std::string(dialect.queue_lock_clause()) + ") RETURNING id",
        "SELECT id FROM bakery WHERE name = :name",
        "INSERT INTO dispatch (recipe_run_id, worker, attempt, claim_token, lease_expires_at, job_name, job_id, "
        "job_deadline, lease_expiries) VALUES (:id, :worker, 1, :token, :lease, NULL, NULL, NULL, 0) "
        "ON CONFLICT (recipe_run_id) DO UPDATE SET worker = excluded.worker, attempt = dispatch.attempt + 1, "
        "claim_token = excluded.claim_token, lease_expires_at = excluded.lease_expires_at, job_name = NULL, "
        "job_id = NULL, job_deadline = NULL RETURNING attempt",
        // storage::run_with_relations()
        "SELECT " + storage::select_list<RecipeRun>("r.") + ", " + storage::select_list<Bakery>("b.") + ", " +
            storage::select_list<Feedstock>("f.") +
            " FROM reciperun r JOIN bakery b ON b.id = r.bakery_id JOIN feedstock f ON f.id = r.feedstock_id "
            "WHERE r.id = :id",
        // lock_dispatched() in dispatch.cpp, through storage::read_one()
        "SELECT " + storage::select_list<RecipeRun>() + " FROM reciperun WHERE id = :id" + row_lock,
        "SELECT " + storage::select_list<Dispatch>() + " FROM dispatch WHERE recipe_run_id = :id" + row_lock,
        // storage::update_row()
        storage::update_sql<RecipeRun>(),
        storage::update_sql<Dispatch>(),
    };
}

// A column's place in a row read with storage::select_list<Model>().
template <class Model>
std::size_t column(const std::string& name) {
    auto names = storage::column_names<Model>();
    auto found = std::find(names.begin(), names.end(), name);
    if (found == names.end()) die("no column " + name);
    return static_cast<std::size_t>(found - names.begin());
}

// --- the raw drivers -------------------------------------------------------------------------

using Cell = std::variant<std::monostate, std::int64_t, std::string>;
using Rows = std::vector<std::vector<Cell>>;

std::int64_t integer(const Cell& cell) {
    if (auto* value = std::get_if<std::int64_t>(&cell)) return *value;
    if (auto* text = std::get_if<std::string>(&cell)) return std::stoll(*text);
    die("an integer column is NULL");
}

const std::string& text(const Cell& cell) {
    if (auto* value = std::get_if<std::string>(&cell)) return *value;
    die("a text column is not text");
}

// What the columns keep: microseconds, written as SQLAlchemy writes them.
std::string timestamp(std::chrono::system_clock::time_point at) {
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[40];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &utc);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%06lld", buffer, static_cast<long long>(micros % 1000000));
    return out;
}

// libpq: each statement prepared once (PQprepare), run with PQexecPrepared, text in and out.
class PostgresSession {
public:
    PostgresSession(const std::string& conninfo, const std::vector<std::string>& sql) {
        connection_ = PQconnectdb(conninfo.c_str());
        if (PQstatus(connection_) != CONNECTION_OK) die(std::string("libpq: ") + PQerrorMessage(connection_));
        PQsetNoticeProcessor(connection_, [](void*, const char*) {}, nullptr);
        exec("SET DateStyle = ISO, YMD");  // as the pool's connections
        for (std::size_t i = 0; i < sql.size(); ++i) {
            names_.push_back("bench_" + std::to_string(i));
            PGresult* result = PQprepare(connection_, names_.back().c_str(), numbered(sql[i]).c_str(), 0, nullptr);
            if (PQresultStatus(result) != PGRES_COMMAND_OK) die(std::string("libpq: ") + PQerrorMessage(connection_));
            PQclear(result);
        }
    }
    ~PostgresSession() { PQfinish(connection_); }

    void exec(const char* sql) {
        PGresult* result = PQexec(connection_, sql);
        if (PQresultStatus(result) != PGRES_COMMAND_OK) die(std::string("libpq: ") + PQerrorMessage(connection_));
        PQclear(result);
    }

    Rows query(Which which, const std::vector<Cell>& parameters) {
        std::vector<std::string> texts(parameters.size());
        std::vector<const char*> values(parameters.size(), nullptr);
        for (std::size_t i = 0; i < parameters.size(); ++i) {
            if (auto* value = std::get_if<std::int64_t>(&parameters[i])) {
                texts[i] = std::to_string(*value);
                values[i] = texts[i].c_str();
            } else if (auto* value = std::get_if<std::string>(&parameters[i])) {
                values[i] = value->c_str();
            }
        }
        PGresult* result = PQexecPrepared(connection_, names_[which].c_str(), static_cast<int>(values.size()),
                                          values.data(), nullptr, nullptr, 0);
        auto status = PQresultStatus(result);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            die(std::string("libpq: ") + PQerrorMessage(connection_));
        }
        Rows rows(static_cast<std::size_t>(PQntuples(result)));
        int columns = PQnfields(result);
        for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
            auto& row = rows[static_cast<std::size_t>(r)];
            row.reserve(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                if (PQgetisnull(result, r, c)) {
                    row.emplace_back(std::monostate{});
                } else {
                    row.emplace_back(std::string(PQgetvalue(result, r, c), static_cast<std::size_t>(PQgetlength(result, r, c))));
                }
            }
        }
        PQclear(result);
        return rows;
    }

private:
    // :name placeholders as $1, $2, ... in order (the statements hold no '::' and no literals).
    static std::string numbered(const std::string& sql) {
        std::string out;
        int n = 0;
        for (std::size_t i = 0; i < sql.size(); ++i) {
            if (sql[i] == ':' && i + 1 < sql.size() && (std::isalpha(static_cast<unsigned char>(sql[i + 1])) || sql[i + 1] == '_')) {
                out += "$" + std::to_string(++n);
                while (i + 1 < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i + 1])) || sql[i + 1] == '_')) ++i;
            } else {
                out += sql[i];
            }
        }
        return out;
    }

    PGconn* connection_ = nullptr;
    std::vector<std::string> names_;
};

// The SQLite C API: each statement prepared once (sqlite3_prepare_v2), bound by position,
// stepped and reset; the same pragmas and busy timeout as the pool's connections.
class SqliteSession {
public:
    SqliteSession(const std::string& path, const std::vector<std::string>& sql) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) die(std::string("sqlite: ") + sqlite3_errmsg(db_));
        sqlite3_busy_timeout(db_, 5000);
        exec("PRAGMA foreign_keys = ON");
        exec("PRAGMA journal_mode = WAL");
        exec("PRAGMA synchronous = NORMAL");
        for (const auto& text : sql) {
            sqlite3_stmt* statement = nullptr;
            if (sqlite3_prepare_v2(db_, text.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
                die(std::string("sqlite: ") + sqlite3_errmsg(db_));
            }
            statements_.push_back(statement);
        }
    }
    ~SqliteSession() {
        for (auto* statement : statements_) sqlite3_finalize(statement);
        sqlite3_close(db_);
    }

    void exec(const char* sql) {
        if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) die(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }

    Rows query(Which which, const std::vector<Cell>& parameters) {
        sqlite3_stmt* statement = statements_[which];
        for (std::size_t i = 0; i < parameters.size(); ++i) {
            int at = static_cast<int>(i) + 1;
            if (auto* value = std::get_if<std::int64_t>(&parameters[i])) {
                sqlite3_bind_int64(statement, at, *value);
            } else if (auto* value = std::get_if<std::string>(&parameters[i])) {
                sqlite3_bind_text(statement, at, value->data(), static_cast<int>(value->size()), SQLITE_STATIC);
            } else {
                sqlite3_bind_null(statement, at);
            }
        }
        Rows rows;
        int code;
        while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
            int columns = sqlite3_column_count(statement);
            std::vector<Cell> row;
            row.reserve(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                switch (sqlite3_column_type(statement, c)) {
                    case SQLITE_NULL: row.emplace_back(std::monostate{}); break;
                    case SQLITE_INTEGER: row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(statement, c))); break;
                    default:
                        row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement, c)),
                                                     static_cast<std::size_t>(sqlite3_column_bytes(statement, c))));
                }
            }
            rows.push_back(std::move(row));
        }
        if (code != SQLITE_DONE) die(std::string("sqlite: ") + sqlite3_errmsg(db_));
        sqlite3_reset(statement);
        return rows;
    }

private:
    sqlite3* db_ = nullptr;
    std::vector<sqlite3_stmt*> statements_;
};

// Orchestrator::sweep_if_due(): one claimer sweeps at most once per interval.
struct SweepClock {
    std::atomic<std::int64_t> last_ms{0};
    std::atomic<int> sweeps{0};

    bool due() {
        auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
        auto last = last_ms.load();
        if (now_ms - last < 1000) return false;
        if (!last_ms.compare_exchange_strong(last, now_ms)) return false;
        ++sweeps;
        return true;
    }
};

// What one claimer thread did: the runs it claimed, and any attempt other than 1.
struct Claimed {
    std::vector<std::int64_t> ids;
    int wrong = 0;
};

// One raw claimer: claim and complete until nothing is queued.
template <class Session>
void raw_claimer(Session& session, const char* begin, SweepClock& sweep_clock, const std::string& worker,
                 Claimed& claimed) {
    static const std::size_t run_completed_at = column<model::RecipeRun>("completed_at");
    static const std::size_t run_conclusion = column<model::RecipeRun>("conclusion");
    static const std::size_t run_status = column<model::RecipeRun>("status");
    static const std::size_t run_dataset_type = column<model::RecipeRun>("dataset_type");
    static const std::size_t run_dataset_url = column<model::RecipeRun>("dataset_public_url");
    static const std::size_t dispatch_attempt = column<model::Dispatch>("attempt");
    static const std::size_t dispatch_lease = column<model::Dispatch>("lease_expires_at");
    const std::string in_progress = "in_progress", queued = "queued", bakery = bakery_name;
    for (;;) {
        // claim
        if (sweep_clock.due()) {
            auto now = timestamp(std::chrono::system_clock::now());
            session.query(sweep, {in_progress, now, now});
        }
        session.exec(begin);
        auto taken = session.query(take, {in_progress, bakery, queued});
        if (taken.empty()) {
            if (session.query(bakery_exists, {bakery}).empty()) die("the bakery is gone");
            session.exec("ROLLBACK");
            return;
        }
        std::int64_t id = integer(taken[0][0]);
        auto lease_expires_at = timestamp(std::chrono::system_clock::now() + lease);
        std::int64_t attempt = integer(session.query(record, {id, worker, Cell{}, lease_expires_at}).at(0).at(0));
        auto run = session.query(relations, {id});
        if (run.size() != 1) die("run " + std::to_string(id) + " has no relations");
        session.exec("COMMIT");

        // complete
        session.exec(begin);
        auto run_rows = session.query(lock_run, {id});
        auto dispatch_rows = session.query(lock_dispatch, {id});
        if (run_rows.size() != 1 || dispatch_rows.size() != 1) die("run " + std::to_string(id) + " vanished");
        auto& held_run = run_rows[0];
        auto& held_dispatch = dispatch_rows[0];
        if (integer(held_dispatch[dispatch_attempt]) != attempt || text(held_run[run_status]) != "in_progress") {
            die("run " + std::to_string(id) + " is not this claimer's");
        }
        held_run[run_completed_at] = timestamp(std::chrono::system_clock::now());  // started_at is long past
        held_run[run_conclusion] = std::string("success");
        held_run[run_status] = std::string("completed");
        held_run[run_dataset_type] = std::string("zarr");
        held_run[run_dataset_url] = std::string(dataset_url);
        held_dispatch[dispatch_lease] = std::monostate{};
        // UPDATE ... SET every field ... WHERE id: the fields, then the id.
        std::rotate(held_run.begin(), held_run.begin() + 1, held_run.end());
        std::rotate(held_dispatch.begin(), held_dispatch.begin() + 1, held_dispatch.end());
        session.query(update_run, held_run);
        session.query(update_dispatch, held_dispatch);
        session.exec("COMMIT");
        claimed.ids.push_back(id);
        if (attempt != 1) ++claimed.wrong;
    }
}

// One claimer through the library.
void our_claimer(orchestrator::Orchestrator& queue, const std::string& worker, Claimed& claimed) {
    orchestrator::ClaimRequest request{bakery_name, worker, lease};
    for (;;) {
        auto claim = queue.claim(request);
        if (!claim) return;
        orchestrator::Report report;
        report.attempt = claim->attempt;
        report.outcome = orchestrator::Outcome::success;
        report.dataset_public_url = dataset_url;
        report.dataset_type = model::DatasetType::zarr;
        auto run = queue.complete(claim->run.recipe_run.id, report);
        if (run.status != model::RecipeRunStatus::completed) die("a completed run is not completed");
        claimed.ids.push_back(run.id);
        if (claim->attempt != 1) ++claimed.wrong;
    }
}

// Starts `threads` claimers, each after its own preparation (connecting, preparing), and times
// them from the moment all are ready until the last one finds nothing queued.
struct Timed {
    double seconds = 0;
    std::vector<Claimed> claimed;
};

Timed run_claimers(int threads, const std::function<std::function<void(Claimed&)>(int)>& make_claimer) {
    Timed timed;
    timed.claimed.resize(static_cast<std::size_t>(threads));
    std::mutex mutex;
    std::condition_variable changed;
    int ready = 0;
    bool go = false;
    std::chrono::steady_clock::time_point start;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            auto claimer = make_claimer(t);
            {
                std::unique_lock<std::mutex> lock(mutex);
                ++ready;
                changed.notify_all();
                changed.wait(lock, [&] { return go; });
            }
            claimer(timed.claimed[static_cast<std::size_t>(t)]);
        });
    }
    {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return ready == threads; });
        start = std::chrono::steady_clock::now();
        go = true;
    }
    changed.notify_all();
    for (auto& worker : workers) worker.join();
    timed.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return timed;
}

// --- fresh databases ---------------------------------------------------------------------------

std::string with_query(const std::string& url, const std::string& parameter) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + parameter;
}

// A database of its own: a SQLite file, or a PostgreSQL schema dropped on destruction.
class Scratch {
public:
    Scratch(db::Backend backend, const std::string& server_url, const fs::path& folder, int number)
        : backend_(backend), server_url_(server_url) {
        std::string name = "bench_dispatch_" + std::to_string(getpid()) + "_" + std::to_string(number);
        if (backend == db::Backend::sqlite) {
            path_ = (folder / (name + ".db")).string();
            url_ = "sqlite:///" + path_;
            return;
        }
        schema_ = name;
        db::Database(server_url_, db::PoolOptions{1}).acquire()->execute("CREATE SCHEMA " + schema_);
        url_ = with_query(server_url_, "options=-c%20search_path%3D" + schema_);
    }
    ~Scratch() {
        if (backend_ == db::Backend::postgresql) {
            db::Database(server_url_, db::PoolOptions{1}).acquire()->execute("DROP SCHEMA " + schema_ + " CASCADE");
        } else {
            for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path_ + suffix);
        }
    }
    const std::string& url() const { return url_; }
    const std::string& path() const { return path_; }

private:
    db::Backend backend_;
    std::string server_url_, url_, path_, schema_;
};

// At head, one bakery, one feedstock and `runs` queued runs, each started a second after the last.
void seed(const std::string& url, const migrate::RevisionGraph& graph, int runs) {
    db::Database database(url, db::PoolOptions{1});
    migrate::Migrator(database, graph).upgrade("head");
    orchestrator::Orchestrator queue(database, graph);
    auto bakery = queue.create(model::decode<model::BakeryCreate>(
        {{"region", "us-central1"}, {"name", bakery_name}, {"description", "the benchmark's bakery"}}));
    auto feedstock = queue.create(model::decode<model::FeedstockCreate>({{"spec", "pangeo-forge/bench-feedstock"}}));
    auto connection = database.acquire();
    db::Transaction transaction(*connection);
    auto first = model::parse_timestamp("2021-01-01T00:00:00Z").value();
    for (int i = 0; i < runs; ++i) {
        db::run(*connection,
                "INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, status, "
                "message, is_test) VALUES (:recipe, :bakery, :feedstock, :sha, :version, :started, :status, :message, "
                ":is_test)",
                {std::string("noaa-oisst"), bakery.id, feedstock.id, std::string("035ee3e8d8d8c6a8"),
                 std::string("1.0"), storage::database_timestamp(first + std::chrono::seconds(i)),
                 std::string("queued"), std::string("queued by the benchmark"), std::int64_t{0}});
    }
    transaction.commit();
}

// Every run claimed exactly once, on its first attempt, and completed with its dataset.
void verify(const std::string& url, int runs, const Timed& timed, const std::string& what) {
    std::vector<std::int64_t> ids;
    int wrong = 0;
    for (const auto& claimed : timed.claimed) {
        ids.insert(ids.end(), claimed.ids.begin(), claimed.ids.end());
        wrong += claimed.wrong;
    }
    std::sort(ids.begin(), ids.end());
    bool unique = std::adjacent_find(ids.begin(), ids.end()) == ids.end();
    if (static_cast<int>(ids.size()) != runs || !unique || wrong != 0) {
        die(what + ": " + std::to_string(ids.size()) + " claims of " + std::to_string(runs) + " runs" +
            (unique ? "" : ", some run claimed twice") + (wrong ? ", some claim not on attempt 1" : ""));
    }
    db::Database database(url, db::PoolOptions{1});
    auto connection = database.acquire();
    auto count = [&](const std::string& sql, std::vector<db::Value> parameters = {}) {
        return db::query_one(*connection, sql, {db::ColumnType::integer}, std::move(parameters))->integer(0);
    };
    auto completed = count("SELECT COUNT(*) FROM reciperun WHERE status = :s AND conclusion = :c AND dataset_type = :t "
                           "AND dataset_public_url = :u AND completed_at IS NOT NULL",
                           {std::string("completed"), std::string("success"), std::string("zarr"), std::string(dataset_url)});
    auto all = count("SELECT COUNT(*) FROM reciperun");
    auto dispatched = count("SELECT COUNT(*) FROM dispatch WHERE attempt = 1 AND lease_expires_at IS NULL");
    auto dispatch_rows = count("SELECT COUNT(*) FROM dispatch");
    if (completed != runs || all != runs || dispatched != runs || dispatch_rows != runs) {
        die(what + ": after the drain " + std::to_string(completed) + " of " + std::to_string(all) +
            " runs are completed / success with their dataset, and " + std::to_string(dispatched) + " of " +
            std::to_string(dispatch_rows) + " dispatch rows are attempt 1 without a lease (expected " +
            std::to_string(runs) + " each)");
    }
}

struct Measure {
    double rate = 0;
    int sweeps = 0;  // raw only: the library's are not visible from outside
};

Measure measure_ours(db::Backend backend, const std::string& server_url, const fs::path& folder, int& number,
                     const migrate::RevisionGraph& graph, int threads, int runs) {
    Scratch scratch(backend, server_url, folder, ++number);
    seed(scratch.url(), graph, runs);
    db::Database database(scratch.url(), db::PoolOptions{static_cast<std::size_t>(threads)});
    {
        // Every claimer's connection open before the clock starts, as the raw side's.
        std::vector<db::PooledConnection> open;
        for (int t = 0; t < threads; ++t) open.push_back(database.acquire());
    }
    orchestrator::Orchestrator queue(database, graph);
    auto timed = run_claimers(threads, [&](int t) {
        return [&queue, t](Claimed& claimed) { our_claimer(queue, "bench-worker-" + std::to_string(t), claimed); };
    });
    verify(scratch.url(), runs, timed, "orchestrator, " + std::to_string(threads) + " claimers");
    return {runs / timed.seconds, 0};
}

Measure measure_raw(db::Backend backend, const std::string& server_url, const fs::path& folder, int& number,
                    const migrate::RevisionGraph& graph, int threads, int runs) {
    Scratch scratch(backend, server_url, folder, ++number);
    seed(scratch.url(), graph, runs);
    db::Dialect dialect(backend);
    auto sql = statements(dialect);
    std::string begin(dialect.begin_statement(true));
    SweepClock sweep_clock;
    Timed timed;
    if (backend == db::Backend::sqlite) {
        timed = run_claimers(threads, [&](int t) {
            auto session = std::make_shared<SqliteSession>(scratch.path(), sql);
            return [session, &begin, &sweep_clock, t](Claimed& claimed) {
                raw_claimer(*session, begin.c_str(), sweep_clock, "bench-worker-" + std::to_string(t), claimed);
            };
        });
    } else {
        std::string conninfo = db::libpq_conninfo(db::parse_database_url(scratch.url()));
        timed = run_claimers(threads, [&](int t) {
            auto session = std::make_shared<PostgresSession>(conninfo, sql);
            return [session, &begin, &sweep_clock, t](Claimed& claimed) {
                raw_claimer(*session, begin.c_str(), sweep_clock, "bench-worker-" + std::to_string(t), claimed);
            };
        });
    }
    verify(scratch.url(), runs, timed, "raw, " + std::to_string(threads) + " claimers");
    return {runs / timed.seconds, sweep_clock.sweeps.load()};
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    auto n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void bench_backend(db::Backend backend, const std::string& server_url, const fs::path& folder,
                   const migrate::RevisionGraph& graph, int runs, int rounds, const std::vector<int>& claimers,
                   Side side) {
    const char* raw_name = backend == db::Backend::sqlite ? "raw C API" : "libpq";
    int number = 0;
    for (int threads : claimers) {
        if (side != Side::both) {
            std::vector<double> rates;
            for (int round = 0; round < rounds; ++round) {
                rates.push_back(side == Side::ours
                                    ? measure_ours(backend, server_url, folder, number, graph, threads, runs).rate
                                    : measure_raw(backend, server_url, folder, number, graph, threads, runs).rate);
            }
            std::cout << db::to_string(backend) << ", " << threads << " claimers: "
                      << (side == Side::ours ? "orchestrator " : raw_name) << " " << static_cast<long>(median(rates))
                      << " runs/s" << std::endl;
            continue;
        }
        std::vector<double> ours, raw, ratios;
        int sweeps = 0;
        for (int round = 0; round < rounds; ++round) {
            Measure our_rate, raw_rate;
            if (round % 2 == 0) {
                our_rate = measure_ours(backend, server_url, folder, number, graph, threads, runs);
                raw_rate = measure_raw(backend, server_url, folder, number, graph, threads, runs);
            } else {
                raw_rate = measure_raw(backend, server_url, folder, number, graph, threads, runs);
                our_rate = measure_ours(backend, server_url, folder, number, graph, threads, runs);
            }
            ours.push_back(our_rate.rate);
            raw.push_back(raw_rate.rate);
            ratios.push_back(our_rate.rate / raw_rate.rate);
            sweeps += raw_rate.sweeps;
        }
        std::ostringstream line;
        line << std::fixed << std::setprecision(2);
        line << db::to_string(backend) << ", " << std::setw(2) << threads << " claimer" << (threads == 1 ? ": " : "s:")
             << " " << raw_name << " " << static_cast<long>(median(raw)) << " runs/s, orchestrator "
             << static_cast<long>(median(ours)) << " runs/s, ratio " << median(ours) / median(raw) << " (rounds:";
        for (double ratio : ratios) line << " " << ratio;
        line << "; raw lease sweeps " << sweeps << ")";
        std::cout << line.str() << std::endl;
    }
}

}  // namespace

int main(int argc, char** argv) {
    int runs = argc > 1 ? std::atoi(argv[1]) : 2000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    std::vector<int> claimers;
    std::istringstream counts(argc > 3 ? argv[3] : "1,4,16");
    for (std::string count; std::getline(counts, count, ',');) claimers.push_back(std::atoi(count.c_str()));
    std::string side_name = argc > 4 ? argv[4] : "both";
    Side side = side_name == "ours" ? Side::ours : side_name == "raw" ? Side::raw : Side::both;
    bool bad_claimers = claimers.empty() || *std::min_element(claimers.begin(), claimers.end()) < 1;
    if (runs < 1 || rounds < 1 || bad_claimers || (side == Side::both && side_name != "both")) {
        die("usage: bench_dispatch [runs] [rounds] [claimers, e.g. 1,4,16] [both|ours|raw]");
    }
    fs::path folder = fs::temp_directory_path() / ("pangeo_forge_bench_dispatch." + std::to_string(getpid()));
    fs::remove_all(folder);
    fs::create_directories(folder);
    auto graph = migrate::RevisionGraph::load(migrate::bundled_migrations());

    std::cout << "claim + complete of " << runs << " queued runs per drain, median of " << rounds
              << " rounds; every run checked claimed once and completed.\n"
              << "Both sides run the lease sweep's SELECT at most once a second, as claim() does.\n";
    bench_backend(db::Backend::sqlite, "", folder, graph, runs, rounds, claimers, side);
    if (const char* url = std::getenv("PANGEO_FORGE_BENCH_POSTGRES_URL")) {
        bench_backend(db::Backend::postgresql, url, folder, graph, runs, rounds, claimers, side);
    } else {
        std::cout << "postgresql: skipped (set PANGEO_FORGE_BENCH_POSTGRES_URL to a server's URL)\n";
    }
    fs::remove_all(folder);
    return 0;
}
