// The App's rows, through the orchestrator's storage helpers (the statements come from the
// field tables in model/github.hpp, as the orchestrator's own do).

#include "github/store.hpp"

#include "orchestrator/storage.hpp"

namespace pangeo_forge::github::detail {
namespace {

using namespace orchestrator::storage;
using model::GithubDelivery;
using model::GithubReport;

std::vector<std::int64_t> ids(Connection& connection, const std::string& sql, std::vector<Value> parameters) {
    std::vector<std::int64_t> found;
    for (auto& row : db::query(connection, sql, {ColumnType::integer}, std::move(parameters))) {
        found.push_back(row.integer(0));
    }
    return found;
}

std::optional<GithubDelivery> delivery_where(Connection& connection, const std::string& condition, Value value) {
    auto rows = read_all<GithubDelivery>(
        connection, "SELECT " + select_list<GithubDelivery>() + " FROM github_delivery WHERE " + condition, {value});
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
}

}  // namespace

RecordedDelivery record_delivery(db::Database& database, const model::GithubDeliveryBase& delivery) {
    auto lease = database.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    static const std::string insert = [] {
        std::string sql = insert_sql<GithubDelivery>();
        // One statement decides who recorded it first, whatever the number of servers.
        return sql.replace(sql.find(" RETURNING id"), 13, " ON CONFLICT (delivery_id) DO NOTHING RETURNING id");
    }();
    auto inserted = db::query_one(*lease, insert, {ColumnType::integer}, field_values<GithubDelivery>(delivery));
    Recorded recorded = Recorded::fresh;
    if (!inserted) {
        auto existing = delivery_where(*lease, "delivery_id = :guid" + std::string(lease->dialect().row_lock_clause()),
                                       delivery.delivery_id);
        recorded = Recorded::duplicate;
        if (existing && existing->outcome == outcome::failed) {
            // As the caller records it: "pending" for the threads, or "handling" for one the
            // request handles itself (a pending one would be taken by the sweep meanwhile).
            db::run(*lease, "UPDATE github_delivery SET outcome = :o, payload = :p, detail = NULL WHERE id = :id",
                    {delivery.outcome, Storage<std::optional<std::string>>::value(delivery.payload), existing->id});
            recorded = Recorded::retried;
        }
    }
    auto stored = delivery_where(*lease, "delivery_id = :guid", delivery.delivery_id);
    transaction.commit();
    return {recorded, std::move(*stored)};
}

std::optional<GithubDelivery> take_delivery(db::Database& database, std::int64_t id) {
    auto lease = database.acquire();
    auto changed = db::run(*lease,
                           "UPDATE github_delivery SET outcome = :handling, attempts = attempts + 1 "
                           "WHERE id = :id AND outcome = :pending",
                           {std::string(outcome::handling), id, std::string(outcome::pending)});
    if (changed == 0) return std::nullopt;
    return delivery_where(*lease, "id = :id", id);
}

void finish_delivery(db::Database& database, std::int64_t id, const std::string& outcome, const std::string& detail) {
    auto lease = database.acquire();
    db::run(*lease, "UPDATE github_delivery SET outcome = :o, detail = :d, payload = NULL WHERE id = :id",
            {outcome, detail, id});
}

std::vector<std::int64_t> pending_deliveries(db::Database& database, std::int64_t limit) {
    auto lease = database.acquire();
    return ids(*lease, "SELECT id FROM github_delivery WHERE outcome = :pending ORDER BY id LIMIT :limit",
               {std::string(outcome::pending), limit});
}

std::int64_t release_abandoned_deliveries(db::Database& database) {
    auto lease = database.acquire();
    return db::run(*lease, "UPDATE github_delivery SET outcome = :pending WHERE outcome = :handling",
                   {std::string(outcome::pending), std::string(outcome::handling)});
}

std::optional<GithubDelivery> delivery_by_guid(db::Database& database, const std::string& delivery_id) {
    auto lease = database.acquire();
    return delivery_where(*lease, "delivery_id = :guid", delivery_id);
}

void owe_report(db::Database& database, const model::GithubReportBase& report) {
    static const std::string insert = [] {
        std::string sql = insert_sql<GithubReport>();
        return sql.replace(sql.find(" RETURNING id"), 13, " ON CONFLICT (recipe_run_id) DO NOTHING");
    }();
    auto lease = database.acquire();
    db::run(*lease, insert, field_values<GithubReport>(report));
}

std::vector<GithubReport> reports_due(db::Database& database, std::int64_t max_attempts, std::int64_t limit) {
    static const std::string sql = "SELECT " + select_list<GithubReport>("g.") +
                                   " FROM github_report g JOIN reciperun r ON r.id = g.recipe_run_id "
                                   "WHERE r.status = 'completed' AND g.reported_at IS NULL AND g.attempts < :max "
                                   "ORDER BY g.id LIMIT :limit";
    auto lease = database.acquire();
    return read_all<GithubReport>(*lease, sql, {max_attempts, limit});
}

bool take_report(db::Database& database, const model::GithubReport& report) {
    auto lease = database.acquire();
    return db::run(*lease,
                   "UPDATE github_report SET attempts = attempts + 1 "
                   "WHERE id = :id AND attempts = :seen AND reported_at IS NULL",
                   {report.id, report.attempts}) == 1;
}

void mark_reported(db::Database& database, std::int64_t report_id) {
    auto lease = database.acquire();
    db::run(*lease, "UPDATE github_report SET reported_at = :now, last_error = NULL WHERE id = :id",
            {Storage<Timestamp>::value(now()), report_id});
}

void note_report_failure(db::Database& database, std::int64_t report_id, const std::string& error) {
    auto lease = database.acquire();
    db::run(*lease, "UPDATE github_report SET last_error = :e WHERE id = :id", {error, report_id});
}

void reopen_report(db::Database& database, std::int64_t recipe_run_id) {
    // A new row, not the old one updated: a sweep still sending the run's last result holds
    // the old row's id, and its mark_reported must not mark the next result as sent.
    auto lease = database.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    auto rows = read_all<GithubReport>(*lease,
                                       "SELECT " + select_list<GithubReport>() +
                                           " FROM github_report WHERE recipe_run_id = :id" +
                                           std::string(lease->dialect().row_lock_clause()),
                                       {recipe_run_id});
    if (rows.empty()) return;
    model::GithubReportBase owed = rows.front();
    owed.reported_at.reset();
    owed.attempts = 0;
    owed.last_error.reset();
    db::run(*lease, "DELETE FROM github_report WHERE id = :id", {rows.front().id});
    insert_row<GithubReport>(*lease, owed);
    transaction.commit();
}

std::optional<GithubReport> report_of(db::Database& database, std::int64_t recipe_run_id) {
    auto lease = database.acquire();
    auto rows = read_all<GithubReport>(
        *lease, "SELECT " + select_list<GithubReport>() + " FROM github_report WHERE recipe_run_id = :id",
        {recipe_run_id});
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
}

std::int64_t dispatch_attempt(db::Database& database, std::int64_t recipe_run_id) {
    auto lease = database.acquire();
    auto found = ids(*lease, "SELECT attempt FROM dispatch WHERE recipe_run_id = :id", {recipe_run_id});
    return found.empty() ? 0 : found.front();
}

std::vector<std::int64_t> feedstocks_with_spec(db::Database& database, const std::string& spec) {
    auto lease = database.acquire();
    return ids(*lease, "SELECT id FROM feedstock WHERE spec = :spec ORDER BY id", {spec});
}

std::vector<std::int64_t> bakeries_named(db::Database& database, const std::string& name) {
    auto lease = database.acquire();
    return ids(*lease, "SELECT id FROM bakery WHERE name = :name ORDER BY id", {name});
}

std::vector<model::RecipeRun> runs_at_commit(db::Database& database, std::int64_t feedstock_id,
                                             const std::string& head_sha, const std::string& recipe_id, bool is_test) {
    auto lease = database.acquire();
    return read_all<model::RecipeRun>(
        *lease,
        "SELECT " + select_list<model::RecipeRun>() +
            " FROM reciperun WHERE feedstock_id = :f AND head_sha = :sha AND recipe_id = :recipe AND is_test = " +
            (is_test ? "TRUE" : "FALSE") + " ORDER BY id",
        {feedstock_id, head_sha, recipe_id});
}

}  // namespace pangeo_forge::github::detail
