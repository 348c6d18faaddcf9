#define BOOST_TEST_MODULE lint
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/migrate/lint.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/migrations.hpp"
#include "support/query.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using Ids = std::vector<std::string>;
using test::error_message;

namespace pangeo_forge::migrate {
std::ostream& operator<<(std::ostream& out, LockMode mode) { return out << to_string(mode); }
std::ostream& operator<<(std::ostream& out, TableWork work) { return out << to_string(work); }
}  // namespace pangeo_forge::migrate
namespace pangeo_forge::db {
std::ostream& operator<<(std::ostream& out, Backend backend) { return out << to_string(backend); }
}  // namespace pangeo_forge::db

namespace {

const db::Dialect postgresql(db::Backend::postgresql);
const db::Dialect sqlite(db::Backend::sqlite);

// A revision on the bundled head holding `upgrade` (a JSON list), and `lint` as its "lint"
// member when given.
Revision planted(const std::string& upgrade, const std::string& lint = "") {
    std::string text = R"j({"revision": "f00d00000001", "down_revision": "a453b710a63a", "message": "planted",
                           "upgrade": )j" + upgrade + R"j(, "downgrade": [])j" +
                       (lint.empty() ? "" : ", \"lint\": " + lint) + "}";
    return parse_revision(text, "planted.json");
}

LintedRevision lint_planted(const std::string& upgrade, const db::Dialect& dialect = postgresql,
                            const std::string& lint = "") {
    static const RevisionGraph graph = test::bundled();
    return lint_revision(graph, planted(upgrade, lint), dialect);
}

// The rules of the findings not waived, operation by operation.
std::vector<Ids> unwaived(const LintedRevision& linted) {
    std::vector<Ids> out;
    for (const auto& operation : linted.operations) {
        Ids found;
        for (const auto& finding : operation.findings) {
            if (!finding.waived) found.push_back(finding.rule);
        }
        out.push_back(found);
    }
    return out;
}

std::vector<Ids> rules_of(const std::string& upgrade, const db::Dialect& dialect = postgresql) {
    return unwaived(lint_planted(upgrade, dialect));
}

std::string file_text(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << file.rdbuf();
    return bytes.str();
}

// An upgrade that adds bakery.code, of `type`, with `server_default` when given.
std::string add_code(const std::string& type, const std::string& server_default = "") {
    return R"j([{"op": "add_column", "table": "bakery", "column": {"name": "code", "type": ")j" + type + "\"" +
           (server_default.empty() ? "" : ", \"server_default\": \"" + server_default + "\"") + "}}]";
}

const char* const new_table = R"j({"op": "create_table", "table": {"name": "scratch",
    "columns": [{"name": "id", "type": "integer", "nullable": false}, {"name": "label", "type": "varchar(10)"}],
    "primary_key": {"name": "scratch_pkey", "columns": ["id"]}}})j";

}  // namespace

BOOST_AUTO_TEST_SUITE(bundled_history)

BOOST_AUTO_TEST_CASE(passes_on_both_dialects_with_the_dropped_apikey_table_waived) {
    auto graph = test::bundled();
    for (const auto* dialect : {&postgresql, &sqlite}) {
        auto report = lint(graph, "", *dialect);
        BOOST_TEST(report.ok(), lint_lines(report).back());
        BOOST_TEST(report.revisions.size() == graph.size());
        BOOST_TEST(report.revisions.front().id == "81c7d27bde71");  // oldest first
        BOOST_TEST(report.waived() == 1u);
        for (const auto& revision : report.revisions) BOOST_TEST(revision.unused_waivers.empty());
    }
    auto report = lint(graph, "0499cef6b57a", postgresql);
    const auto& dropped = report.revisions.at(0).operations.at(0);
    BOOST_TEST(dropped.description == "drop_table apikey");
    BOOST_TEST(dropped.findings.at(0).rule == "dropping-table");
    BOOST_TEST(dropped.findings.at(0).waived.has_value());
}

BOOST_AUTO_TEST_CASE(the_waiver_leaves_the_checksum_databases_recorded) {
    // The checksum of 0499cef6b57a's file as it was before it had a "lint" member: what every
    // database that applied it holds in pangeo_forge_migrations.
    auto revision = test::bundled().get("0499cef6b57a");
    BOOST_TEST(revision.checksum == "4eb19a371663ec6c84a99fdb8b9ac2a8a7ec0493599f8fa29a3448a5cb623c32");
    BOOST_TEST(revision.lint_waivers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_range_is_read_as_history_reads_it_and_given_oldest_first) {
    auto graph = test::bundled();
    Ids ids;
    for (const auto& revision : lint(graph, "3b96e7fb9cbd:head", postgresql).revisions) ids.push_back(revision.id);
    BOOST_TEST(ids == (Ids{"3b96e7fb9cbd", "b51d1daaff02", "a453b710a63a"}));
    auto one = lint(graph, "0499", postgresql);
    BOOST_TEST(one.revisions.size() == 1u);
    BOOST_TEST(one.revisions.at(0).id == "0499cef6b57a");
}

BOOST_AUTO_TEST_CASE(a_range_counted_from_current_is_refused_without_connecting) {
    command::Config config;
    config.database_url = "postgresql://nobody@127.0.0.1:1/none";
    command::Context context(config);
    auto message = error_message([&] { command::lint(context, "current:head", std::nullopt, "--dialect"); });
    BOOST_TEST(message.find("reads no database") != std::string::npos, message);
    message = error_message([&] { command::lint(context, "", std::string("oracle"), "--dialect"); });
    BOOST_TEST(message.find("--dialect must be sqlite or postgresql") != std::string::npos, message);
    BOOST_TEST(command::lint(context, "", std::nullopt, "--dialect").dialect == db::Backend::postgresql);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(each_rule)

BOOST_AUTO_TEST_CASE(adding_volatile_default_fires_on_a_volatile_default_on_an_existing_table) {
    for (const char* volatile_default : {"gen_random_uuid()", "clock_timestamp()", "random()",
                                         "nextval('bakery_code_seq'::regclass)", "md5(random()::text)"}) {
        auto found = rules_of(add_code("varchar", volatile_default));
        BOOST_TEST(found.at(0) == Ids{"adding-volatile-default"}, volatile_default);
    }
    for (const char* constant : {"'x'", "0", "false", "now()", "CURRENT_TIMESTAMP", "'2024-01-01'::timestamp",
                                 "'a(b)'", "'x'::varchar(10)"}) {
        auto found = rules_of(add_code("varchar", constant));
        BOOST_TEST(found.at(0).empty(), constant);
    }
    auto linted = lint_planted(std::string("[") + new_table + R"j(, {"op": "add_column", "table": "scratch",
        "column": {"name": "code", "type": "varchar", "server_default": "gen_random_uuid()"}}])j");
    BOOST_TEST(unwaived(linted).at(1).empty());
    BOOST_TEST(linted.operations.at(1).new_table);
    BOOST_TEST(linted.operations.at(1).steps.at(0).work == TableWork::rewrite);
}

BOOST_AUTO_TEST_CASE(changing_column_type_fires_but_for_the_changes_that_keep_every_value) {
    auto change = [](const std::string& from, const std::string& to) {
        std::string upgrade = add_code(from);
        upgrade.pop_back();  // the list's "]"
        return rules_of(upgrade + R"j(, {"op": "alter_column", "table": "bakery", "column": "code", "type": ")j" + to +
                        "\"}]")
            .at(1);
    };
    BOOST_TEST(change("varchar(10)", "varchar(20)").empty());
    BOOST_TEST(change("varchar(10)", "varchar").empty());
    BOOST_TEST(change("varchar(10)", "text").empty());
    BOOST_TEST(change("text", "varchar").empty());
    BOOST_TEST(change("varchar(20)", "varchar(10)") == Ids{"changing-column-type"});
    BOOST_TEST(change("varchar", "varchar(10)") == Ids{"changing-column-type"});
    BOOST_TEST(change("integer", "bigint") == Ids{"changing-column-type"});
    BOOST_TEST(change("varchar", "integer") == Ids{"changing-column-type"});
    auto on_new = rules_of(std::string("[") + new_table +
                           R"j(, {"op": "alter_column", "table": "scratch", "column": "label", "type": "integer"}])j");
    BOOST_TEST(on_new.at(1).empty());
}

BOOST_AUTO_TEST_CASE(index_not_concurrent_fires_where_the_engine_will_not_build_concurrently) {
    const std::string index = R"j({"op": "create_index", "table": "reciperun", "index": {"name": "ix_planted",
                                  "columns": ["recipe_id"]})j";
    auto online = lint_planted("[" + index + "}]");
    BOOST_TEST(unwaived(online).at(0).empty());
    BOOST_TEST((online.operations.at(0).steps ==
                std::vector<LockStep>{{LockMode::share_update_exclusive, {"reciperun"}, TableWork::scan,
                                       "CREATE INDEX CONCURRENTLY"}}));
    auto offline = lint_planted("[" + index + R"j(, "online": false}])j");
    BOOST_TEST(unwaived(offline).at(0) == Ids{"index-not-concurrent"});
    BOOST_TEST(offline.operations.at(0).steps.at(0).lock == LockMode::share);
    BOOST_TEST(rules_of(std::string("[") + new_table + R"j(, {"op": "create_index", "table": "scratch",
        "index": {"name": "ix_scratch", "columns": ["label"]}, "online": false}])j").at(1).empty());
    BOOST_TEST(rules_of(R"j([{"op": "create_unique_constraint", "table": "bakery",
        "constraint": {"name": "uq_planted", "columns": ["region"]}, "online": false}])j").at(0) ==
               Ids{"index-not-concurrent"});
    BOOST_TEST(rules_of(R"j([{"op": "create_unique_constraint", "table": "bakery",
        "constraint": {"name": "uq_planted", "columns": ["region"]}}])j").at(0).empty());
    BOOST_TEST(rules_of(R"j([{"op": "drop_index", "table": "reciperun",
        "name": "ix_reciperun_bakery_id_status_started_at_id", "online": false}])j").at(0) ==
               Ids{"index-not-concurrent"});
}

BOOST_AUTO_TEST_CASE(a_table_renamed_in_the_revision_still_holds_rows) {
    // The rows go with the name: the engine builds the index on the new name concurrently,
    // and lint finds nothing to say of it; a table dropped and created again is empty.
    auto found = rules_of(R"j([{"op": "rename_table", "table": "bakery", "new_name": "kitchen"},
        {"op": "create_index", "table": "kitchen", "index": {"name": "ix_kitchen_region", "columns": ["region"]}}])j");
    BOOST_TEST(found.at(0) == Ids{"renaming-table"});
    BOOST_TEST(found.at(1).empty());
}

BOOST_AUTO_TEST_CASE(not_null_without_check_fires_when_the_check_is_turned_off) {
    const std::string alter = R"j({"op": "alter_column", "table": "reciperun", "column": "dataset_type", "nullable": false)j";
    auto online = lint_planted("[" + alter + "}]");
    BOOST_TEST(unwaived(online).at(0).empty());
    const auto& steps = online.operations.at(0).steps;
    BOOST_TEST(steps.size() == 3u);
    BOOST_TEST(steps.at(1).lock == LockMode::share_update_exclusive);
    BOOST_TEST(steps.at(1).work == TableWork::scan);
    BOOST_TEST(steps.at(2).work == TableWork::none);
    auto offline = lint_planted("[" + alter + R"j(, "online": false}])j");
    BOOST_TEST(unwaived(offline).at(0) == Ids{"not-null-without-check"});
    BOOST_TEST(offline.operations.at(0).steps.at(0).lock == LockMode::access_exclusive);
    BOOST_TEST(offline.operations.at(0).steps.at(0).work == TableWork::scan);
}

BOOST_AUTO_TEST_CASE(adding_foreign_key_constraint_fires_when_it_is_validated_at_once) {
    const std::string key = R"j({"op": "create_foreign_key", "table": "dispatch", "foreign_key": {"name": "fk_planted",
        "columns": ["recipe_run_id"], "referred_table": "reciperun", "referred_columns": ["id"]})j";
    auto online = lint_planted("[" + key + "}]");
    BOOST_TEST(unwaived(online).at(0).empty());
    BOOST_TEST(online.operations.at(0).steps.at(0).tables == (Ids{"dispatch", "reciperun"}));
    BOOST_TEST(online.operations.at(0).steps.at(1).statement == "VALIDATE CONSTRAINT");
    auto offline = lint_planted("[" + key + R"j(, "online": false}])j");
    BOOST_TEST(unwaived(offline).at(0) == Ids{"adding-foreign-key-constraint"});
    BOOST_TEST(offline.operations.at(0).steps.at(0).lock == LockMode::share_row_exclusive);
}

BOOST_AUTO_TEST_CASE(renames_and_drops_fire_on_existing_tables_on_every_dialect) {
    const std::string upgrade = R"j([{"op": "rename_column", "table": "bakery", "column": "description", "new_name": "summary"},
        {"op": "rename_table", "table": "feedstock", "new_name": "recipe_source"},
        {"op": "drop_column", "table": "reciperun", "column": "message"},
        {"op": "drop_table", "table": "github_report"}])j";
    const std::vector<Ids> expected{{"renaming-column"}, {"renaming-table"}, {"dropping-column"}, {"dropping-table"}};
    BOOST_TEST(rules_of(upgrade, postgresql) == expected);
    BOOST_TEST(rules_of(upgrade, sqlite) == expected);
    auto on_new = rules_of(std::string("[") + new_table + R"j(,
        {"op": "rename_column", "table": "scratch", "column": "label", "new_name": "title"},
        {"op": "drop_column", "table": "scratch", "column": "title"},
        {"op": "rename_table", "table": "scratch", "new_name": "scratch2"},
        {"op": "drop_table", "table": "scratch2"}])j");
    for (const auto& found : on_new) BOOST_TEST(found.empty());
}

BOOST_AUTO_TEST_CASE(raw_sql_is_a_finding_of_its_own) {
    auto linted = lint_planted(R"j([{"op": "execute", "sql": "UPDATE bakery SET region = 'eu'"}])j");
    BOOST_TEST(unwaived(linted).at(0) == Ids{"raw-sql"});
    BOOST_TEST(linted.operations.at(0).steps.at(0).lock == LockMode::unknown);
}

BOOST_AUTO_TEST_CASE(sqlite_reports_the_table_rebuilds_and_no_postgresql_lock_rules) {
    auto linted = lint_planted(R"j([{"op": "add_column", "table": "bakery", "column": {"name": "code", "type": "varchar"}},
        {"op": "alter_column", "table": "bakery", "column": "code", "nullable": false, "online": false},
        {"op": "create_index", "table": "reciperun", "index": {"name": "ix_planted", "columns": ["recipe_id"]},
         "online": false}])j",
                               sqlite);
    BOOST_TEST(linted.operations.at(0).steps.at(0).work == TableWork::none);
    BOOST_TEST(linted.operations.at(1).steps.at(0).work == TableWork::rebuild);
    BOOST_TEST(linted.operations.at(1).steps.at(0).lock == LockMode::database_write);
    BOOST_TEST(linted.operations.at(2).steps.at(0).work == TableWork::scan);  // an index reads every row
    for (const auto& found : unwaived(linted)) BOOST_TEST(found.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(waivers)

const char* const rename_and_drop = R"j([{"op": "rename_column", "table": "bakery", "column": "description", "new_name": "summary"},
    {"op": "drop_column", "table": "reciperun", "column": "message"}])j";

BOOST_AUTO_TEST_CASE(a_waiver_silences_exactly_the_finding_it_names) {
    auto linted = lint_planted(rename_and_drop, postgresql,
                               R"j({"waive": [{"rule": "renaming-column", "operation": 0, "reason": "no release reads it"}]})j");
    BOOST_TEST(linted.operations.at(0).findings.at(0).waived.value_or("") == "no release reads it");
    BOOST_TEST(unwaived(linted) == (std::vector<Ids>{{}, {"dropping-column"}}));
    LintReport report{db::Backend::postgresql, {linted}};
    BOOST_TEST(report.findings() == 1u);
    BOOST_TEST(report.waived() == 1u);
    BOOST_TEST(!report.ok());
    BOOST_TEST(test::mentions(lint_lines(report), "renaming-column (waived: no release reads it)"));
}

BOOST_AUTO_TEST_CASE(a_waiver_of_another_operation_silences_nothing_and_is_reported_unused) {
    auto linted = lint_planted(rename_and_drop, postgresql,
                               R"j({"waive": [{"rule": "renaming-column", "operation": 1, "reason": "wrong place"}]})j");
    BOOST_TEST(unwaived(linted) == (std::vector<Ids>{{"renaming-column"}, {"dropping-column"}}));
    BOOST_TEST(linted.unused_waivers.size() == 1u);
    LintReport report{db::Backend::postgresql, {linted}};
    BOOST_TEST(test::mentions(lint_lines(report), "the waiver of renaming-column for upgrade.1 matches no finding"));
}

BOOST_AUTO_TEST_CASE(a_waiver_of_an_unknown_rule_or_without_a_reason_is_refused_naming_the_file) {
    auto message = error_message(
        [] { planted(rename_and_drop, R"j({"waive": [{"rule": "no-such-rule", "operation": 0, "reason": "x"}]})j"); });
    BOOST_TEST(message.find("planted.json") != std::string::npos, message);
    BOOST_TEST(message.find("lint.waive.0.rule: unknown lint rule 'no-such-rule'") != std::string::npos, message);
    message = error_message([] { planted(rename_and_drop, R"j({"waive": [{"rule": "renaming-column", "operation": 0}]})j"); });
    BOOST_TEST(message.find("lint.waive.0.reason: field required") != std::string::npos, message);
    message = error_message(
        [] { planted(rename_and_drop, R"j({"waive": [{"rule": "renaming-column", "operation": 0, "reason": " "}]})j"); });
    BOOST_TEST(message.find("lint.waive.0.reason: a waiver says why") != std::string::npos, message);
    message = error_message(
        [] { planted(rename_and_drop, R"j({"waive": [{"rule": "renaming-column", "operation": 2, "reason": "x"}]})j"); });
    BOOST_TEST(message.find("lint.waive.0.operation: there is no upgrade operation 2") != std::string::npos, message);
    message = error_message([] {
        planted(rename_and_drop, R"j({"waive": [{"rule": "renaming-column", "operation": 0, "reason": "x", "why": 1}]})j");
    });
    BOOST_TEST(message.find("lint.waive.0.why: extra fields not permitted") != std::string::npos, message);
    message = error_message([] { planted(rename_and_drop, R"j({"waiver": []})j"); });
    BOOST_TEST(message.find("lint.waiver: extra fields not permitted") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(adding_or_changing_a_waiver_keeps_the_checksum) {
    const std::string plain = file_text(bundled_migrations() / "versions" / "3b96e7fb9cbd_bakery_names_unique.json");
    const std::string section = R"j("lint": {"waive": [{"rule": "renaming-column", "operation": 0, "reason": "x"}]})j";
    auto closing = plain.rfind('}');
    const std::string last = plain.substr(0, closing - 1) + ",\n  " + section + plain.substr(closing - 1);
    const std::string first = "{\n  " + section + "," + plain.substr(1);
    BOOST_TEST(revision_checksum(plain) == sha256_hex(plain));
    BOOST_TEST(revision_checksum(last) == sha256_hex(plain));
    BOOST_TEST(revision_checksum(first) == sha256_hex(plain));
    // Whatever else changes, changes it.
    std::string edited = last;
    edited.replace(edited.find("bakery names unique"), 6, "BAKERY");
    BOOST_TEST(revision_checksum(edited) != sha256_hex(plain));
}

BOOST_AUTO_TEST_CASE(a_written_revision_keeps_its_waivers) {
    auto revision = planted(rename_and_drop, R"j({"waive": [{"rule": "dropping-column", "operation": 1, "reason": "r"}]})j");
    auto text = revision_file_text(revision);
    auto again = parse_revision(text, "again.json");
    BOOST_TEST((again == revision));
    BOOST_TEST(again.lint_waivers.at(0).operation == 1u);
    revision.lint_waivers.clear();
    BOOST_TEST(revision_checksum(text) == sha256_hex(revision_file_text(revision)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_json_document_has_the_documented_shape) {
    auto linted = lint_planted(R"j([{"op": "create_index", "table": "reciperun", "index": {"name": "ix_planted",
        "columns": ["recipe_id"]}}, {"op": "drop_column", "table": "reciperun", "column": "message"}])j",
                               postgresql, R"j({"waive": [{"rule": "dropping-column", "operation": 1, "reason": "r"}]})j");
    auto document = lint_json(LintReport{db::Backend::postgresql, {linted}});
    BOOST_TEST(document["dialect"] == "postgresql");
    BOOST_TEST(document["ok"] == true);
    BOOST_TEST(document["findings"] == 0);
    BOOST_TEST(document["waived"] == 1);
    const auto& revision = document["revisions"][0];
    BOOST_TEST(revision["revision"] == "f00d00000001");
    BOOST_TEST(revision["path"] == "planted.json");
    BOOST_TEST(revision["unused_waivers"].empty());
    const auto& index = revision["operations"][0];
    BOOST_TEST(index["index"] == 0);
    BOOST_TEST(index["operation"] == "create_index ix_planted on reciperun");
    BOOST_TEST(index["new_table"] == false);
    BOOST_TEST(index["steps"][0] == (nlohmann::json{{"lock", "SHARE UPDATE EXCLUSIVE"}, {"tables", {"reciperun"}},
                                                    {"work", "scan"}, {"statement", "CREATE INDEX CONCURRENTLY"}}));
    BOOST_TEST(index["findings"].empty());
    const auto& finding = revision["operations"][1]["findings"][0];
    BOOST_TEST(finding["rule"] == "dropping-column");
    BOOST_TEST(finding["waived"] == true);
    BOOST_TEST(finding["reason"] == "r");
    BOOST_TEST(finding["message"].get<std::string>().find("reciperun.message") != std::string::npos);
}
